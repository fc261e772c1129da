#include "advisor/sharded_workload_sketch.h"

#include <algorithm>
#include <bit>

#include "core/fingerprint.h"

namespace strata::advisor {

ShardedWorkloadSketch::ShardedWorkloadSketch(const SketchOptions& options, int shards)
    : options_(options) {
  const size_t count = std::bit_ceil(static_cast<size_t>(std::max(shards, 1)));
  const SketchOptions each{.hll_precision = options.hll_precision,
                           .heavy_hitters = std::max<size_t>(options.heavy_hitters / count, 1),
                           .sample_size = std::max<size_t>(options.sample_size / count, 2),
                           .heavy_hitter_sampling = options.heavy_hitter_sampling};
  options_.heavy_hitters = each.heavy_hitters * count;
  options_.sample_size = std::max(each.sample_size, each.heavy_hitters) * count;
  for (size_t i = 0; i < count; ++i) shards_.push_back(std::make_unique<Shard>(each));
}

void ShardedWorkloadSketch::Add(std::string_view key) {
  std::string marker;
  if (key.size() > core::kMaxKeyBytes) key = marker = core::KeyFingerprintMarker(key);
  const uint64_t fingerprint = core::Fingerprint64(key);
  Shard& shard = *shards_[fingerprint & (shards_.size() - 1)];
  core::MutexLock lock(shard.mutex);
  shard.sketch.Add(fingerprint, key);
}

void ShardedWorkloadSketch::AddAll(const std::vector<std::string>& keys) {
  if (keys.size() == 1) return Add(keys.front());
  thread_local std::vector<std::pair<uint64_t, const std::string*>> order;
  order.clear();
  // Long keys are counted as their markers (rare: no allocation otherwise;
  // reserved so that the pointers into it stay valid).
  std::vector<std::string> markers;
  markers.reserve(
      static_cast<size_t>(std::count_if(keys.begin(), keys.end(), [](const std::string& k) {
        return k.size() > core::kMaxKeyBytes;
      })));
  for (const std::string& key : keys) {
    const std::string* kept = &key;
    if (key.size() > core::kMaxKeyBytes) {
      kept = &markers.emplace_back(core::KeyFingerprintMarker(key));
    }
    order.emplace_back(core::Fingerprint64(*kept), kept);
  }
  const uint64_t mask = shards_.size() - 1;
  std::sort(order.begin(), order.end(),
            [mask](const auto& a, const auto& b) { return (a.first & mask) < (b.first & mask); });
  for (size_t i = 0; i < order.size();) {
    Shard& shard = *shards_[order[i].first & mask];
    core::MutexLock lock(shard.mutex);
    const uint64_t index = order[i].first & mask;
    for (; i < order.size() && (order[i].first & mask) == index; ++i) {
      shard.sketch.Add(order[i].first, *order[i].second);
    }
  }
}

WorkloadSketch ShardedWorkloadSketch::Snapshot() const {
  WorkloadSketch merged(options_);
  for (const auto& shard : shards_) {
    core::MutexLock lock(shard->mutex);
    merged.MergeDisjoint(shard->sketch);
  }
  return merged;
}

size_t ShardedWorkloadSketch::MemoryBytes() const {
  size_t bytes = 0;
  for (const auto& shard : shards_) {
    core::MutexLock lock(shard->mutex);
    bytes += shard->sketch.MemoryBytes();
  }
  return bytes;
}

}  // namespace strata::advisor
