#include "api/access_guard.h"

#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace strata::api {
namespace {

using SteadyClock = auth::TokenBucket::Clock;

// The file's modification time and size, or "" when it cannot be read.
std::string FileStamp(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return "";
  return fmt::format("{}.{}:{}:{}", info.st_mtim.tv_sec, info.st_mtim.tv_nsec, info.st_size,
                     info.st_ino);
}

std::chrono::seconds CeilSeconds(SteadyClock::duration d) {
  return std::chrono::ceil<std::chrono::seconds>(d);
}

}  // namespace

int64_t RequestRows(const core::InferRequest& request) {
  if (request.inputs.empty() || request.inputs[0].shape.empty()) return 1;
  return std::max<int64_t>(1, request.inputs[0].shape[0]);
}

std::vector<std::pair<std::string, std::string>> RateCharge::Headers() const {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!limited) return headers;
  headers.emplace_back("X-RateLimit-Limit", fmt::format("{}", static_cast<int64_t>(limit)));
  headers.emplace_back("X-RateLimit-Remaining",
                       fmt::format("{}", static_cast<int64_t>(std::floor(remaining))));
  headers.emplace_back("X-RateLimit-Reset", std::to_string(reset.count()));
  if (!admitted) {
    // A request that can never fit the limit is told to come back in an hour.
    headers.emplace_back("Retry-After", std::to_string(retry_after ? retry_after->count() : 3600));
  }
  return headers;
}

AccessGuard::AccessGuard(AccessGuardOptions options)
    : options_(std::move(options)), registry_(std::make_shared<prometheus::Registry>()) {
  failures_ = &prometheus::BuildCounter()
                   .Name("strata_auth_failures_total")
                   .Help(
                       "Requests refused for their API key, by reason (missing, malformed, "
                       "unknown_key, expired: 401; scope, model: 403)")
                   .Register(*registry_);
  for (std::string_view reason :
       {"missing", "malformed", "unknown_key", "expired", "scope", "model"}) {
    failures_->Add({{"reason", std::string(reason)}});
  }
  tenant_rows_ = &prometheus::BuildCounter()
                      .Name("strata_tenant_rows_total")
                      .Help("Rows of inference requests admitted, by tenant")
                      .Register(*registry_);
  key_limited_ = &prometheus::BuildCounter()
                      .Name("strata_key_rate_limited_total")
                      .Help("Inference requests refused by the API key's own rate limit (429)")
                      .Register(*registry_);
  tenant_limited_ = &prometheus::BuildCounter()
                         .Name("strata_tenant_rate_limited_total")
                         .Help("Inference requests refused by the tenant's rate limit (429)")
                         .Register(*registry_);
  reloads_ = &prometheus::BuildCounter()
                  .Name("strata_auth_keys_reloads_total")
                  .Help("Reloads of the keys file, by result (ok, error)")
                  .Register(*registry_);
  keys_loaded_ = &prometheus::BuildGauge()
                      .Name("strata_auth_keys")
                      .Help("API keys in force")
                      .Register(*registry_)
                      .Add({});
}

absl::StatusOr<std::unique_ptr<AccessGuard>> AccessGuard::Open(AccessGuardOptions options) {
  std::unique_ptr<AccessGuard> guard(new AccessGuard(std::move(options)));
  if (absl::Status s = guard->Load(/*initial=*/true); !s.ok()) return s;
  if (guard->options_.reload_interval.count() > 0) {
    guard->poller_ = std::thread([g = guard.get()] { g->Poll(); });
  }
  return guard;
}

AccessGuard::~AccessGuard() {
  {
    core::MutexLock lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.SignalAll();
  if (poller_.joinable()) poller_.join();
}

absl::Status AccessGuard::Load(bool initial) {
  const std::string stamp = FileStamp(options_.keys_file);
  std::ifstream in(options_.keys_file);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || stamp.empty()) {
    return absl::NotFoundError(fmt::format("cannot read the keys file {}", options_.keys_file));
  }
  absl::StatusOr<auth::KeySet> parsed = auth::ParseKeySet(text.str());
  core::MutexLock lock(mutex_);
  stamp_ = stamp;  // a broken file is not read again until it changes
  if (!parsed.ok()) {
    if (!initial) reloads_->Add({{"result", "error"}}).Increment();
    return absl::InvalidArgumentError(
        fmt::format("{}: {}", options_.keys_file, std::string(parsed.status().message())));
  }
  limiter_.Configure(parsed->limits, parsed->KeyLimits(), SteadyClock::now());
  keys_loaded_->Set(static_cast<double>(parsed->keys.size()));
  spdlog::info("keys file {}: {} API keys, {} tenant and {} key rate limits", options_.keys_file,
               parsed->keys.size(), parsed->limits.size(), parsed->KeyLimits().size());
  keys_ = std::make_shared<const auth::KeyLookup>(*std::move(parsed));
  if (!initial) reloads_->Add({{"result", "ok"}}).Increment();
  return absl::OkStatus();
}

bool AccessGuard::ReloadIfChanged() {
  {
    core::MutexLock lock(mutex_);
    if (FileStamp(options_.keys_file) == stamp_) return false;
  }
  absl::Status s = Load(/*initial=*/false);
  if (!s.ok())
    spdlog::error("keys file not reloaded, the previous keys stay in force: {}",
                  std::string(s.message()));
  return s.ok();
}

void AccessGuard::Poll() {
  while (true) {
    {
      core::MutexLock lock(stop_mutex_);
      const auto wake = std::chrono::steady_clock::now() + options_.reload_interval;
      while (!stopping_ && stop_cv_.WaitUntil(stop_mutex_, wake)) {
      }
      if (stopping_) return;
    }
    ReloadIfChanged();
  }
}

auth::AuthDecision AccessGuard::Authorize(std::string_view authorization, auth::Scope scope,
                                          std::optional<std::string_view> model) const {
  std::shared_ptr<const auth::KeyLookup> keys;
  {
    core::MutexLock lock(mutex_);
    keys = keys_;
  }
  auth::AuthDecision decision =
      auth::Authorize(*keys, authorization, scope, model, std::chrono::system_clock::now());
  if (!decision.allowed()) {
    failures_->Add({{"reason", std::string(decision.reason())}}).Increment();
  }
  return decision;
}

namespace {

// The bucket a charge's headers describe: the one that refused, else the one
// with the fewest rows left.
const auth::RateLimiter::BucketCharge* Described(const auth::RateLimiter::Charge& taken) {
  if (taken.refused_by) return &*taken.refused_by;
  const auth::RateLimiter::BucketCharge* fewest = nullptr;
  for (const auto& bucket : taken.buckets) {
    if (fewest == nullptr || bucket.decision.remaining < fewest->decision.remaining) {
      fewest = &bucket;
    }
  }
  return fewest;
}

std::string RefusalMessage(const Caller& caller, const auth::RateLimiter::BucketCharge& refused,
                           int64_t rows, const std::optional<std::chrono::seconds>& retry_after) {
  const bool by_key = refused.holder == auth::LimitHolder::kKey;
  return fmt::format(
      "{} '{}' is over its rate limit ({} rows per second, burst {}): this request of {} rows "
      "{}",
      by_key ? "API key" : "tenant", by_key ? caller.key_id : caller.tenant,
      refused.limit.rows_per_second, refused.limit.burst, rows,
      retry_after ? fmt::format("fits in {} s", retry_after->count())
                  : std::string("is larger than the burst or the rate is 0"));
}

}  // namespace

RateCharge AccessGuard::Charge(const Caller& caller, int64_t rows) const {
  RateCharge charge;
  const auth::RateLimiter::Charge taken =
      limiter_.Take(caller.tenant, caller.key_id, static_cast<double>(rows), SteadyClock::now());
  if (const auth::RateLimiter::BucketCharge* described = Described(taken)) {
    charge.admitted = taken.admitted;
    charge.limited = true;
    charge.limit = described->limit.burst;
    charge.remaining = described->decision.remaining;
    charge.reset = CeilSeconds(described->decision.until_full);
    if (described->decision.retry_after) {
      charge.retry_after = CeilSeconds(*described->decision.retry_after);
    }
  }
  const TenantCounters counters = CountersOf(caller.tenant);
  if (!charge.admitted) {
    charge.refused_by = taken.refused_by->holder;
    if (*charge.refused_by == auth::LimitHolder::kKey) {
      key_limited_->Add({{"key", caller.key_id}}).Increment();
    } else {
      counters.limited->Increment();
    }
    charge.message = RefusalMessage(caller, *taken.refused_by, rows, charge.retry_after);
    return charge;
  }
  counters.rows->Increment(static_cast<double>(rows));
  return charge;
}

AccessGuard::TenantCounters AccessGuard::CountersOf(const std::string& tenant) const {
  {
    core::ReaderMutexLock lock(counters_mutex_);
    if (auto found = counters_.find(tenant); found != counters_.end()) return found->second;
  }
  core::WriterMutexLock lock(counters_mutex_);
  auto [it, added] = counters_.try_emplace(tenant, TenantCounters{nullptr, nullptr});
  if (added) {
    it->second = {&tenant_rows_->Add({{"tenant", tenant}}),
                  &tenant_limited_->Add({{"tenant", tenant}})};
  }
  return it->second;
}

std::vector<prometheus::MetricFamily> AccessGuard::Collect() const { return registry_->Collect(); }

}  // namespace strata::api
