// ShardedWorkloadSketch is the concurrent form of WorkloadSketch, for live
// traffic: keys are partitioned by fingerprint over shards, each a
// WorkloadSketch with its share of the counters behind its own lock, so
// threads rarely wait on each other; Snapshot() merges the shards exactly
// (their key sets are disjoint). Memory is that of one WorkloadSketch of
// the same options. Thread-safe.
#ifndef STRATA_ADVISOR_SHARDED_WORKLOAD_SKETCH_H_
#define STRATA_ADVISOR_SHARDED_WORKLOAD_SKETCH_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "advisor/workload_sketch.h"
#include "core/mutex.h"

namespace strata::advisor {

class ShardedWorkloadSketch {
 public:
  // `shards` is rounded up to a power of two.
  explicit ShardedWorkloadSketch(const SketchOptions& options = {}, int shards = 8);

  void Add(std::string_view key);
  // Adds every key, taking each shard's lock once (a request's rows).
  void AddAll(const std::vector<std::string>& keys);

  // One sketch of everything added so far, with `options()`.
  WorkloadSketch Snapshot() const;

  const SketchOptions& options() const { return options_; }
  size_t MemoryBytes() const;

 private:
  struct Shard {
    explicit Shard(const SketchOptions& options) : sketch(options) {}
    mutable core::Mutex mutex;
    WorkloadSketch sketch ABSL_GUARDED_BY(mutex);
  };

  SketchOptions options_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace strata::advisor

#endif  // STRATA_ADVISOR_SHARDED_WORKLOAD_SKETCH_H_
