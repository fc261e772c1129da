// AccessGuard enforces a keys file for both frontends: it answers whether a
// request's `Authorization` may use a scope on a model (api/auth/), charges
// tenants' and keys' rate limits by rows, counts refusals and tenants' rows for
// /metrics, and reloads the keys file when it changes (its mtime or size,
// polled), without a restart. A keys file that no longer parses leaves the
// previous keys in force and is logged. Thread-safe; one thread of its own
// for the polling.
#ifndef STRATA_API_ACCESS_GUARD_H_
#define STRATA_API_ACCESS_GUARD_H_

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "api/auth/authorizer.h"
#include "api/auth/key_lookup.h"
#include "api/auth/rate_limiter.h"
#include "core/infer_request.h"
#include "core/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"

namespace strata::api {

struct AccessGuardOptions {
  std::string keys_file;
  std::chrono::milliseconds reload_interval{1000};
};

// Who a request is charged to: its key and the key's tenant.
struct Caller {
  std::string tenant;
  std::string key_id;
};

// A request's charge against its tenant's and its key's rate limits. The
// headers describe the limit that refused it, else the one with the fewest
// rows left.
struct RateCharge {
  bool admitted = true;
  bool limited = false;                             // a limit applies (the headers apply)
  double limit = 0;                                 // burst, rows
  double remaining = 0;                             // rows
  std::chrono::seconds reset{0};                    // until the bucket is full again
  std::optional<std::chrono::seconds> retry_after;  // refused; nullopt: never at this limit
  std::string message;                              // refused: why, naming the limit
  std::optional<auth::LimitHolder> refused_by;      // refused: the tenant's or the key's

  // X-RateLimit-Limit, -Remaining, -Reset, and Retry-After when refused.
  std::vector<std::pair<std::string, std::string>> Headers() const;
};

// What a request costs its tenant: its rows, the first dimension of its
// first input (1 for a scalar input).
int64_t RequestRows(const core::InferRequest& request);

class AccessGuard {
 public:
  // Reads the keys file; INVALID_ARGUMENT when it does not parse, NOT_FOUND
  // when it cannot be read.
  static absl::StatusOr<std::unique_ptr<AccessGuard>> Open(AccessGuardOptions options);
  ~AccessGuard();

  // Counts a refusal under its reason.
  auth::AuthDecision Authorize(std::string_view authorization, auth::Scope scope,
                               std::optional<std::string_view> model) const;

  // Charges `rows` to the caller's tenant and key now (both, or neither).
  RateCharge Charge(const Caller& caller, int64_t rows) const;

  // Reloads the keys file if it changed since it was last read; true when
  // new keys are in force.
  bool ReloadIfChanged();

  std::vector<prometheus::MetricFamily> Collect() const;

 private:
  explicit AccessGuard(AccessGuardOptions options);
  absl::Status Load(bool initial);
  void Poll();

  const AccessGuardOptions options_;
  mutable core::Mutex mutex_;
  // The keys in force and the tokens matched to them; replaced whole on a
  // reload, so a revoked key's remembered token goes with it.
  std::shared_ptr<const auth::KeyLookup> keys_ ABSL_GUARDED_BY(mutex_);
  std::string stamp_ ABSL_GUARDED_BY(mutex_);  // mtime and size last read
  mutable auth::RateLimiter limiter_;
  prometheus::Family<prometheus::Counter>* key_limited_;

  // A tenant's counters, found once: Family::Add builds and hashes a label
  // map on every call.
  struct TenantCounters {
    prometheus::Counter* rows;
    prometheus::Counter* limited;
  };
  TenantCounters CountersOf(const std::string& tenant) const;
  mutable core::SharedMutex counters_mutex_;
  mutable std::map<std::string, TenantCounters, std::less<>> counters_
      ABSL_GUARDED_BY(counters_mutex_);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* failures_;
  prometheus::Family<prometheus::Counter>* tenant_rows_;
  prometheus::Family<prometheus::Counter>* tenant_limited_;
  prometheus::Family<prometheus::Counter>* reloads_;
  prometheus::Gauge* keys_loaded_;

  core::Mutex stop_mutex_;
  core::CondVar stop_cv_;
  bool stopping_ ABSL_GUARDED_BY(stop_mutex_) = false;
  std::thread poller_;
};

}  // namespace strata::api

#endif  // STRATA_API_ACCESS_GUARD_H_
