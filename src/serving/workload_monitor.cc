#include "serving/workload_monitor.h"

#include "fmt/format.h"

namespace strata::serving {
namespace {

constexpr double kTopKeys[] = {10, 100, 1000, 10000};

absl::Status NotWatched(std::string_view endpoint) {
  return absl::NotFoundError(fmt::format(
      "no workload sketch for '{}': it is not an endpoint, or a model that has not been "
      "called yet",
      std::string(endpoint)));
}

}  // namespace

WorkloadMonitor::WorkloadMonitor(const std::vector<std::string>& endpoints,
                                 WorkloadMonitorOptions options, prometheus::Registry& registry)
    : options_(std::move(options)),
      keys_(prometheus::BuildCounter()
                .Name("strata_workload_keys_total")
                .Help("Row keys added to the endpoint's workload sketch")
                .Register(registry)),
      distinct_(prometheus::BuildGauge()
                    .Name("strata_workload_distinct_keys")
                    .Help("Distinct keys asked for (HyperLogLog estimate; exact while few)")
                    .Register(registry)),
      entropy_(prometheus::BuildGauge()
                   .Name("strata_workload_entropy")
                   .Help("Entropy of the request key distribution, in bits (log2)")
                   .Register(registry)),
      peakedness_(prometheus::BuildGauge()
                      .Name("strata_workload_peakedness")
                      .Help("1 - entropy / log2(distinct keys): 0 flat, towards 1 peaked")
                      .Register(registry)),
      unseen_(prometheus::BuildGauge()
                  .Name("strata_workload_unseen_share")
                  .Help("Share of requests that asked for a key for the first time")
                  .Register(registry)),
      top_share_(prometheus::BuildGauge()
                     .Name("strata_workload_top_keys_share")
                     .Help("Share of requests taken by the `top` most requested keys")
                     .Register(registry)),
      bytes_(prometheus::BuildGauge()
                 .Name("strata_workload_sketch_bytes")
                 .Help("Memory held by the endpoint's workload sketch")
                 .Register(registry)) {
  for (const std::string& name : endpoints) {
    sketches_.emplace(name, std::make_unique<Watched>(options_.sketch,
                                                      /*hashed=*/options_.key_hasher != nullptr));
  }
}

WorkloadMonitor::Watched* WorkloadMonitor::Find(std::string_view endpoint) const {
  core::ReaderMutexLock lock(mutex_);
  auto it = sketches_.find(endpoint);
  return it == sketches_.end() ? nullptr : it->second.get();
}

bool WorkloadMonitor::Watches(std::string_view endpoint) const { return Find(endpoint) != nullptr; }

std::vector<std::string> WorkloadMonitor::endpoints() const {
  core::ReaderMutexLock lock(mutex_);
  std::vector<std::string> names;
  for (const auto& [name, w] : sketches_) names.push_back(name);
  return names;
}

void WorkloadMonitor::Observe(std::string_view endpoint, const std::vector<std::string>& row_keys) {
  Watched* w = Find(endpoint);
  if (w == nullptr) return;
  // The sketch is thread-safe; only the map needs the lock.
  if (!options_.key_hasher) return w->sketch.AddAll(row_keys);
  // One row (a single-key lookup): no vector of hashes.
  if (row_keys.size() == 1) return w->sketch.Add(options_.key_hasher(row_keys.front()));
  std::vector<std::string> hashed;
  hashed.reserve(row_keys.size());
  for (const std::string& key : row_keys) hashed.push_back(options_.key_hasher(key));
  w->sketch.AddAll(hashed);
}

void WorkloadMonitor::ObserveHashed(std::string_view model,
                                    const std::vector<std::string>& row_keys) {
  if (row_keys.empty()) return;
  Watched* w = Find(model);
  if (w == nullptr) {
    core::WriterMutexLock lock(mutex_);
    auto [it, added] = sketches_.try_emplace(std::string(model));
    if (added) it->second = std::make_unique<Watched>(options_.sketch, /*hashed=*/true);
    w = it->second.get();
  }
  w->sketch.AddAll(row_keys);
}

absl::StatusOr<advisor::WorkloadSnapshot> WorkloadMonitor::Snapshot(std::string_view endpoint,
                                                                    bool with_sketch) const {
  const Watched* w = Find(endpoint);
  if (w == nullptr) return NotWatched(endpoint);
  advisor::WorkloadSnapshot snapshot;
  snapshot.endpoint = std::string(endpoint);
  snapshot.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - w->started).count();
  snapshot.hashed_keys = w->hashed_keys;
  if (with_sketch) snapshot.sketch = w->sketch.Snapshot();
  return snapshot;
}

std::shared_ptr<const advisor::WorkloadStats> WorkloadMonitor::FreshStats(const Watched& w) const {
  const auto now = std::chrono::steady_clock::now();
  core::MutexLock lock(w.stats_mutex);
  if (w.stats == nullptr || now - w.stats_at >= options_.stats_max_age) {
    auto stats = std::make_shared<advisor::WorkloadStats>(w.sketch.Snapshot().Stats());
    const double seconds = std::chrono::duration<double>(now - w.started).count();
    // A rate over less than a second of observation says little.
    if (seconds >= 1) stats->requests_per_second = static_cast<double>(stats->requests) / seconds;
    w.stats = std::move(stats);
    w.stats_at = now;
  }
  return w.stats;
}

absl::StatusOr<advisor::WorkloadStats> WorkloadMonitor::Stats(std::string_view endpoint) const {
  const Watched* w = Find(endpoint);
  if (w == nullptr) return NotWatched(endpoint);
  return *FreshStats(*w);
}

size_t WorkloadMonitor::MemoryBytes(std::string_view endpoint) const {
  const Watched* w = Find(endpoint);
  return w == nullptr ? 0 : w->sketch.MemoryBytes();
}

void WorkloadMonitor::UpdateMetrics() const {
  std::vector<std::pair<std::string, const Watched*>> watched;
  {
    core::ReaderMutexLock lock(mutex_);
    for (const auto& [name, w] : sketches_) watched.emplace_back(name, w.get());
  }
  for (const auto& [name, w] : watched) {
    const std::shared_ptr<const advisor::WorkloadStats> stats = FreshStats(*w);
    const prometheus::Labels labels = {{"endpoint", name}};
    {
      core::MutexLock lock(w->stats_mutex);
      if (stats->requests > w->exported_keys) {
        keys_.Add(labels).Increment(static_cast<double>(stats->requests - w->exported_keys));
        w->exported_keys = stats->requests;
      } else {
        keys_.Add(labels);  // the series exists from the start
      }
    }
    distinct_.Add(labels).Set(stats->distinct_keys);
    entropy_.Add(labels).Set(stats->entropy_bits);
    peakedness_.Add(labels).Set(stats->peakedness);
    unseen_.Add(labels).Set(stats->unseen_share);
    for (double top : kTopKeys) {
      top_share_.Add({{"endpoint", name}, {"top", fmt::format("{}", top)}})
          .Set(stats->coverage.ShareAt(top));
    }
    bytes_.Add(labels).Set(static_cast<double>(w->sketch.MemoryBytes()));
  }
}

}  // namespace strata::serving
