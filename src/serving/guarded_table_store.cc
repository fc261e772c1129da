#include "serving/guarded_table_store.h"

#include <algorithm>
#include <array>
#include <functional>
#include <mutex>

#include "fmt/format.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "spdlog/spdlog.h"

namespace strata::serving {
namespace {

using Clock = std::chrono::steady_clock;
using Admission = CircuitBreaker::Admission;

// The store failed (unreachable, timed out), as opposed to answering that
// something is missing or corrupt.
bool IsStoreFailure(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

constexpr std::array<BreakerState, 3> kStates = {BreakerState::kClosed, BreakerState::kOpen,
                                                 BreakerState::kHalfOpen};

}  // namespace

class GuardedTableStore::Guard : public std::enable_shared_from_this<GuardedTableStore::Guard> {
 public:
  // `probe` asks the store something cheap; it runs in the background when
  // an open breaker's cool-down is over.
  Guard(std::string location, const GuardedTableStoreOptions& options,
        std::function<absl::Status()> probe);

  // A store call of the refresh thread (or a tool): runs on the calling
  // thread when the breaker admits it, and may be the probe; else
  // UNAVAILABLE at once.
  template <typename Result, typename Call>
  Result Run(const Call& call) {
    const Clock::time_point started = Clock::now();
    absl::StatusOr<Admission> admission = Admit(started);
    if (!admission.ok()) return admission.status();
    Result result = call();
    Record(*admission, StatusOf(result), started);
    return result;
  }

  // A lookup for a request: runs only while the breaker is closed, and is
  // never the probe, so no request waits for a store that may still hang.
  template <typename Result, typename Call>
  Result Lookup(const Call& call) {
    const Clock::time_point started = Clock::now();
    if (absl::Status closed = AdmitLookup(started); !closed.ok()) return closed;
    Result result = call();
    Record(Admission::kAllowed, StatusOf(result), started);
    return result;
  }

  // Lookup(table->MultiGet(keys)) on the executor, or, for a table that
  // queues its lookups itself (AsyncLookup::kQueued), the table's
  // MultiGetAsync with `done` handed to the executor; UNAVAILABLE at once,
  // on the calling thread, when the breaker is not closed or the queue is
  // full.
  void LookupAsync(std::shared_ptr<const store::PredictionTable> table,
                   std::span<const std::string> keys, store::PredictionTable::LookupCallback done);

  BreakerState state() const {
    std::lock_guard lock(mutex_);
    return breaker_.state();
  }
  std::vector<prometheus::MetricFamily> Collect() const { return registry_->Collect(); }
  void Stop() { executor_.Stop(); }

 private:
  // The admission, or UNAVAILABLE (counted as rejected).
  absl::StatusOr<Admission> Admit(Clock::time_point now);
  // OK while closed; else UNAVAILABLE, after starting the background probe
  // when one is due.
  absl::Status AdmitLookup(Clock::time_point now);
  void Record(Admission admission, const absl::Status& status, Clock::time_point started);
  // REQUIRES: mutex_ is held.
  absl::Status Rejected(Clock::time_point now);
  void StartProbe(Clock::time_point now);
  // The table's own MultiGetAsync: its result is recorded on the store's
  // thread, and `done` runs on the executor (inline when it refuses).
  void LookupQueued(std::shared_ptr<const store::PredictionTable> table,
                    std::span<const std::string> keys,
                    std::shared_ptr<store::PredictionTable::LookupCallback> done);
  // Logs and counts a change of state. REQUIRES: mutex_ is held.
  void Changed(BreakerState from, const absl::Status& why);

  const std::string location_;
  const std::string name_;
  const std::function<absl::Status()> probe_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter* ok_;
  prometheus::Counter* failed_;
  prometheus::Counter* rejected_;
  std::array<prometheus::Gauge*, 3> state_;          // by BreakerState
  std::array<prometheus::Counter*, 3> transitions_;  // by the state entered
  mutable std::mutex mutex_;
  CircuitBreaker breaker_;  // guarded by mutex_
  StoreExecutor executor_;  // last: its threads end before the rest goes
};

GuardedTableStore::Guard::Guard(std::string location, const GuardedTableStoreOptions& options,
                                std::function<absl::Status()> probe)
    : location_(std::move(location)),
      name_(options.name),
      probe_(std::move(probe)),
      registry_(std::make_shared<prometheus::Registry>()),
      breaker_(options.breaker),
      executor_(options.executor) {
  auto& calls = prometheus::BuildCounter()
                    .Name("strata_store_calls_total")
                    .Help(
                        "Calls to a table store by result: ok; failed (unreachable or "
                        "timed out); rejected (not tried: circuit breaker not closed or "
                        "lookup queue full)")
                    .Register(*registry_);
  ok_ = &calls.Add({{"store", name_}, {"result", "ok"}});
  failed_ = &calls.Add({{"store", name_}, {"result", "failed"}});
  rejected_ = &calls.Add({{"store", name_}, {"result", "rejected"}});
  auto& states = prometheus::BuildGauge()
                     .Name("strata_store_breaker_state")
                     .Help("1 for the state the table store's circuit breaker is in")
                     .Register(*registry_);
  auto& transitions = prometheus::BuildCounter()
                          .Name("strata_store_breaker_transitions_total")
                          .Help(
                              "Circuit breaker state changes of a table store, by the "
                              "state entered")
                          .Register(*registry_);
  for (BreakerState s : kStates) {
    const std::string state(BreakerStateName(s));
    state_[static_cast<size_t>(s)] = &states.Add({{"store", name_}, {"state", state}});
    transitions_[static_cast<size_t>(s)] = &transitions.Add({{"store", name_}, {"to", state}});
  }
  state_[static_cast<size_t>(BreakerState::kClosed)]->Set(1);
}

absl::StatusOr<Admission> GuardedTableStore::Guard::Admit(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  const BreakerState before = breaker_.state();
  const Admission admission = breaker_.Admit(now);
  if (admission == Admission::kRejected) return Rejected(now);
  if (breaker_.state() != before) Changed(before, absl::OkStatus());
  return admission;
}

absl::Status GuardedTableStore::Guard::AdmitLookup(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (breaker_.state() == BreakerState::kClosed) return absl::OkStatus();
  if (!breaker_.WouldReject(now)) StartProbe(now);
  return Rejected(now);
}

void GuardedTableStore::Guard::StartProbe(Clock::time_point now) {
  const BreakerState before = breaker_.state();
  const Admission probe = breaker_.Admit(now);
  Changed(before, absl::OkStatus());
  const bool queued = executor_.Submit([this, probe] {
    const Clock::time_point started = Clock::now();
    Record(probe, probe_(), started);
  });
  if (!queued) {  // stopping, or the queue is full: the probe failed
    breaker_.Record(probe, false, now, now);
    Changed(BreakerState::kHalfOpen, absl::UnavailableError("no thread free to probe"));
  }
}

void GuardedTableStore::Guard::Record(Admission admission, const absl::Status& status,
                                      Clock::time_point started) {
  const bool ok = !IsStoreFailure(status);
  (ok ? ok_ : failed_)->Increment();
  std::lock_guard lock(mutex_);
  const BreakerState before = breaker_.state();
  breaker_.Record(admission, ok, started, Clock::now());
  if (breaker_.state() != before) Changed(before, status);
}

absl::Status GuardedTableStore::Guard::Rejected(Clock::time_point now) {
  rejected_->Increment();
  if (breaker_.state() == BreakerState::kHalfOpen) {
    return absl::UnavailableError(fmt::format(
        "{} is not answering; not asked (circuit breaker half_open: probing)", location_));
  }
  const auto wait =
      std::chrono::duration_cast<std::chrono::milliseconds>(breaker_.retry_at() - now);
  return absl::UnavailableError(
      fmt::format("{} is not answering; not asked (circuit breaker open, next "
                  "probe in {} ms)",
                  location_, std::max<int64_t>(0, wait.count())));
}

void GuardedTableStore::Guard::Changed(BreakerState from, const absl::Status& why) {
  const BreakerState to = breaker_.state();
  state_[static_cast<size_t>(from)]->Set(0);
  state_[static_cast<size_t>(to)]->Set(1);
  transitions_[static_cast<size_t>(to)]->Increment();
  if (to == BreakerState::kOpen && from == BreakerState::kClosed) {
    spdlog::warn(
        "table store {}: circuit breaker open, lookups fail fast until a probe "
        "succeeds: {}",
        location_, std::string(why.message()));
  } else if (to == BreakerState::kClosed) {
    spdlog::info("table store {}: answering again, circuit breaker closed", location_);
  }
}

void GuardedTableStore::Guard::LookupAsync(std::shared_ptr<const store::PredictionTable> table,
                                           std::span<const std::string> keys,
                                           store::PredictionTable::LookupCallback done) {
  if (absl::Status closed = AdmitLookup(Clock::now()); !closed.ok()) return done(closed);
  auto callback = std::make_shared<store::PredictionTable::LookupCallback>(std::move(done));
  if (table->async_lookup() == store::PredictionTable::AsyncLookup::kQueued) {
    return LookupQueued(std::move(table), keys, std::move(callback));
  }
  const bool queued = executor_.Submit([this, table = std::move(table), keys, callback] {
    (*callback)(Lookup<absl::StatusOr<store::LookupResult>>([&] { return table->MultiGet(keys); }));
  });
  if (!queued) {
    rejected_->Increment();
    (*callback)(
        absl::UnavailableError(fmt::format("{}: too many lookups waiting; not asked", location_)));
  }
}

void GuardedTableStore::Guard::LookupQueued(
    std::shared_ptr<const store::PredictionTable> table, std::span<const std::string> keys,
    std::shared_ptr<store::PredictionTable::LookupCallback> done) {
  const Clock::time_point started = Clock::now();
  const store::PredictionTable* raw = table.get();
  raw->MultiGetAsync(keys, [self = shared_from_this(), table = std::move(table), started,
                            done](absl::StatusOr<store::LookupResult> result) {
    self->Record(Admission::kAllowed, result.status(), started);
    auto answer = std::make_shared<absl::StatusOr<store::LookupResult>>(std::move(result));
    if (!self->executor_.Submit([done, answer] { (*done)(std::move(*answer)); })) {
      (*done)(std::move(*answer));  // stopping, or every thread busy
    }
  });
}

namespace {

// A table version of a guarded store: its lookups go through the guard.
class GuardedTable : public store::PredictionTable {
 public:
  GuardedTable(std::shared_ptr<store::PredictionTable> table,
               std::shared_ptr<GuardedTableStore::Guard> guard)
      : table_(std::move(table)), guard_(std::move(guard)) {}

  const store::TableManifest& manifest() const override { return table_->manifest(); }

  absl::StatusOr<store::LookupResult> MultiGet(std::span<const std::string> keys) const override {
    return guard_->Lookup<absl::StatusOr<store::LookupResult>>(
        [&] { return table_->MultiGet(keys); });
  }

  void MultiGetAsync(std::span<const std::string> keys, LookupCallback done) const override {
    guard_->LookupAsync(table_, keys, std::move(done));
  }

  absl::Status Scan(const Visitor& visit) const override {
    return guard_->Run<absl::Status>([&] { return table_->Scan(visit); });
  }

 private:
  std::shared_ptr<const store::PredictionTable> table_;
  std::shared_ptr<GuardedTableStore::Guard> guard_;
};

}  // namespace

GuardedTableStore::GuardedTableStore(std::shared_ptr<store::TableStore> store,
                                     GuardedTableStoreOptions options)
    : store_(std::move(store)),
      guard_(std::make_shared<Guard>(store_->location(), options,
                                     [store = store_] { return store->ListTables().status(); })) {}

GuardedTableStore::~GuardedTableStore() = default;

absl::StatusOr<std::vector<std::string>> GuardedTableStore::ListTables() const {
  return guard_->Run<absl::StatusOr<std::vector<std::string>>>(
      [&] { return store_->ListTables(); });
}

absl::StatusOr<std::vector<int64_t>> GuardedTableStore::ListVersions(std::string_view table) const {
  return guard_->Run<absl::StatusOr<std::vector<int64_t>>>(
      [&] { return store_->ListVersions(table); });
}

absl::StatusOr<store::TableManifest> GuardedTableStore::ReadManifest(std::string_view table,
                                                                     int64_t version) const {
  return guard_->Run<absl::StatusOr<store::TableManifest>>(
      [&] { return store_->ReadManifest(table, version); });
}

absl::StatusOr<int64_t> GuardedTableStore::CurrentVersion(std::string_view table) const {
  return guard_->Run<absl::StatusOr<int64_t>>([&] { return store_->CurrentVersion(table); });
}

absl::Status GuardedTableStore::SetCurrentVersion(std::string_view table, int64_t version) {
  return guard_->Run<absl::Status>([&] { return store_->SetCurrentVersion(table, version); });
}

absl::StatusOr<std::shared_ptr<store::PredictionTable>> GuardedTableStore::Open(
    std::string_view table, int64_t version) const {
  absl::StatusOr<std::shared_ptr<store::PredictionTable>> opened =
      guard_->Run<absl::StatusOr<std::shared_ptr<store::PredictionTable>>>(
          [&] { return store_->Open(table, version); });
  if (!opened.ok()) return opened;
  return std::shared_ptr<store::PredictionTable>(
      std::make_shared<GuardedTable>(*std::move(opened), guard_));
}

absl::StatusOr<int> GuardedTableStore::RemoveOldVersions(std::string_view table, int keep) {
  return guard_->Run<absl::StatusOr<int>>([&] { return store_->RemoveOldVersions(table, keep); });
}

BreakerState GuardedTableStore::breaker_state() const { return guard_->state(); }

void GuardedTableStore::Stop() { guard_->Stop(); }

std::vector<prometheus::MetricFamily> GuardedTableStore::CollectMetrics() const {
  return guard_->Collect();
}

void AppendStoreMetrics(const std::vector<std::shared_ptr<GuardedTableStore>>& stores,
                        std::vector<prometheus::MetricFamily>& families) {
  const size_t before = families.size();
  for (const std::shared_ptr<GuardedTableStore>& store : stores) {
    for (prometheus::MetricFamily& family : store->CollectMetrics()) {
      auto same =
          std::find_if(families.begin() + static_cast<std::ptrdiff_t>(before), families.end(),
                       [&](const auto& f) { return f.name == family.name; });
      if (same == families.end()) {
        families.push_back(std::move(family));
      } else {
        same->metric.insert(same->metric.end(), family.metric.begin(), family.metric.end());
      }
    }
  }
}

}  // namespace strata::serving
