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
                           .sample_size = std::max<size_t>(options.sample_size / count, 2)};
  options_.heavy_hitters = each.heavy_hitters * count;
  options_.sample_size = std::max(each.sample_size, each.heavy_hitters) * count;
  for (size_t i = 0; i < count; ++i) shards_.push_back(std::make_unique<Shard>(each));
}

void ShardedWorkloadSketch::Add(std::string_view key) {
  const uint64_t fingerprint = core::Fingerprint64(key);
  Shard& shard = *shards_[fingerprint & (shards_.size() - 1)];
  std::lock_guard<std::mutex> lock(shard.mutex);
  shard.sketch.Add(fingerprint, key);
}

WorkloadSketch ShardedWorkloadSketch::Snapshot() const {
  WorkloadSketch merged(options_);
  for (const auto& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard->mutex);
    merged.MergeDisjoint(shard->sketch);
  }
  return merged;
}

size_t ShardedWorkloadSketch::MemoryBytes() const {
  size_t bytes = 0;
  for (const auto& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard->mutex);
    bytes += shard->sketch.MemoryBytes();
  }
  return bytes;
}

}  // namespace strata::advisor
