// The `endpoints:` section of the server config file (`strata serve
// --endpoints strata.yaml`): which names clients call and the plan behind
// each:
//
//   endpoints:
//     sales_forecast:
//       plan: static                   # answers looked up in a table
//       table: sales_forecast          # default: the endpoint's name
//       store: rocksdb                 # rocksdb (embedded) | redis (shared)
//       key: [store_id, product_id, date]   # optional; checked against the table
//       default: 0.01                  # every output of a row not in the table
//       on_store_error: default        # default (flagged degraded) | unavailable (503)
//                                      # when a lookup fails: store down or hung, or its
//                                      # circuit breaker open (serving/guarded_table_store.h)
//     purchase:
//       plan: hybrid                   # table -> prediction cache -> model
//       table: purchase_head
//       key: [user_id, product_id]     # required for hybrid
//       model: purchase_gbdt
//       cache: {max_bytes: 64MiB, ttl_s: 0}
//       table_in_memory: 64MiB         # static/hybrid: a RocksDB table version up to
//                                      # this size is held in memory (0: never)
//     breast_cancer_xgb:               # a model's own name: its callers get the cache
//       plan: dynamic                  # (prediction cache ->) model
//       model: breast_cancer_xgb
//       cache: {max_bytes: 16MiB}      # off unless given; keyed by `key` columns when
//                                      # declared, else by each row's input bytes
//     checkout:
//       plan: split                    # arms answer shares of the traffic
//       sticky_header: x-user-id       # or sticky_key: <input column>; none: random
//       salt: checkout-2026            # default: the endpoint's name
//       policy: weights                # or thompson (by feedback rewards), min_share: 0.05
//       arms:
//         - {name: stable, model: ranker, version: 1, weight: 90}
//         - {name: canary, model: ranker, label: canary, weight: 10}
//         - {name: table, endpoint: sales_forecast, weight: 0}  # another endpoint
//       shadow: {model: ranker, label: candidate, share: 1.0, queue: 64}
//       feedback: {retention: 100000, max_age: 3600s, task: classification}
//
// Any plan takes `shadow:` (a model copied a share of the calls, or
// `live_model: true` on static and hybrid plans: the table's rows
// recomputed) and `feedback:` (predictions kept for POST .../feedback; on by
// default for split plans, `feedback: false` turns it off).
// Pure parsing; thread-safe.
#ifndef STRATA_SERVING_ENDPOINT_CONFIG_H_
#define STRATA_SERVING_ENDPOINT_CONFIG_H_

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "serving/experiment/feedback_task.h"
#include "serving/plans/plan_kind.h"

namespace strata::serving {

// One arm of a split endpoint and its weight: a model at a version or
// label (empty: the model's default version), or another endpoint of the
// file (`endpoint:`; then `model` and `version` are empty).
struct SplitArmConfig {
  std::string name;
  std::string model;
  std::string version;  // a number or a label; empty: the default version
  double weight = 0;
  std::string endpoint = {};
};

// `shadow:` -- a copy of a share of the calls to a model (docs/serving.md:
// Shadow traffic).
struct ShadowConfig {
  std::string model = {};    // empty with live_model
  std::string version = {};  // a number or a label; empty: the default version
  bool live_model = false;
  double share = 1;
  size_t queue = 64;
  size_t max_in_flight = 1;  // copy only while the endpoint has at most this many calls; 0: any
  double cpu_share = 0.5;    // of one core, the shadow's calls at most
};

// `feedback:` -- how many predictions are kept for feedback, how long, and
// what a label means.
struct FeedbackConfig {
  size_t retention = 100000;
  int64_t max_age_s = 3600;
  FeedbackTask task = FeedbackTask::kClassification;
};

// How a split's arms share its traffic: by their weights, or by Thompson
// sampling on the rewards of their feedback (the weights are the start).
enum class SplitPolicy { kWeights, kThompson };

struct EndpointConfig {
  std::string name;
  PlanKind plan = PlanKind::kStatic;
  std::string table;              // defaults to `name`
  std::string store = "rocksdb";  // rocksdb | redis
  std::vector<std::string> key = {};
  double default_value = 0;
  bool default_when_unavailable = true;  // on_store_error: default
  // plan: hybrid (table -> cache -> model): the model computing the rows
  // the table and the cache do not have, and the cache's bounds
  // (`cache: {max_bytes: 64MiB, ttl_s: 0}`; max_bytes 0 turns it off).
  std::string model;
  size_t cache_max_bytes = 64 << 20;  // plan dynamic: 0 unless `cache:` is given
  double cache_ttl_s = 0;
  size_t table_in_memory_bytes = 64 << 20;
  // plan: split -- the arms, and what keeps a caller on one arm: an input
  // column or a request header (at most one; neither: random by weight).
  std::vector<SplitArmConfig> arms = {};
  std::string sticky_key;
  std::string sticky_header;                         // lower case
  std::string salt;                                  // defaults to `name`
  SplitPolicy split_policy = SplitPolicy::kWeights;  // `policy: weights | thompson`
  double min_share = 0.05;  // thompson: each arm's least share, at most 1 / arms
  // Any plan: a shadow, and feedback (on by default for split plans).
  std::optional<ShadowConfig> shadow = std::nullopt;
  std::optional<FeedbackConfig> feedback = std::nullopt;
  // plan: dynamic -- the model answers every row the cache does not have;
  // `table` is empty. `key` is optional: without it the cache is keyed by
  // each row's input bytes.
};

// INVALID_ARGUMENT naming the endpoint and key for anything unknown or
// mistyped, and for a split arm naming an endpoint the file does not declare
// or leading back to its own endpoint (directly or through other splits).
// The configs come in file order, except that an endpoint comes after every
// endpoint its arms name (the order to build them in).
absl::StatusOr<std::vector<EndpointConfig>> ParseEndpointConfigs(std::string_view yaml);
absl::StatusOr<std::vector<EndpointConfig>> ReadEndpointConfigs(const std::filesystem::path& file);

}  // namespace strata::serving

#endif  // STRATA_SERVING_ENDPOINT_CONFIG_H_
