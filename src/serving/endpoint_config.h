// The `endpoints:` section of the server config file (`strata serve
// --endpoints strata.yaml`): which names clients call and the plan behind
// each. Today one plan exists besides a model's own dynamic endpoint:
//
//   endpoints:
//     sales_forecast:
//       plan: static                   # answers looked up in a table
//       table: sales_forecast          # default: the endpoint's name
//       store: rocksdb                 # rocksdb (embedded) | redis (shared)
//       key: [store_id, product_id, date]   # optional; checked against the table
//       default: 0.01                  # every output of a row not in the table
//       on_store_error: default        # default (flagged degraded) | unavailable (503)
//     purchase:
//       plan: hybrid                   # table -> prediction cache -> model
//       table: purchase_head
//       key: [user_id, product_id]     # required for hybrid
//       model: purchase_gbdt
//       cache: {max_bytes: 64MiB, ttl_s: 0}
//
// Pure parsing; thread-safe.
#ifndef STRATA_SERVING_ENDPOINT_CONFIG_H_
#define STRATA_SERVING_ENDPOINT_CONFIG_H_

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace strata::serving {

struct EndpointConfig {
  std::string name;
  std::string plan = "static";
  std::string table;              // defaults to `name`
  std::string store = "rocksdb";  // rocksdb | redis
  std::vector<std::string> key = {};
  double default_value = 0;
  bool default_when_unavailable = true;  // on_store_error: default
  // plan: hybrid (table -> cache -> model): the model computing the rows
  // the table and the cache do not have, and the cache's bounds
  // (`cache: {max_bytes: 64MiB, ttl_s: 0}`; max_bytes 0 turns it off).
  std::string model;
  size_t cache_max_bytes = 64 << 20;
  double cache_ttl_s = 0;
};

// INVALID_ARGUMENT naming the endpoint and key for anything unknown or
// mistyped.
absl::StatusOr<std::vector<EndpointConfig>> ParseEndpointConfigs(std::string_view yaml);
absl::StatusOr<std::vector<EndpointConfig>> ReadEndpointConfigs(
    const std::filesystem::path& file);

}  // namespace strata::serving

#endif  // STRATA_SERVING_ENDPOINT_CONFIG_H_
