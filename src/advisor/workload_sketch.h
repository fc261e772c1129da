// WorkloadSketch summarises a stream of request keys in bounded memory: a
// request count, a HyperLogLog of distinct keys, Space-Saving heavy
// hitters, and a bottom-k sample of keys with exact counts. Stats()
// combines them: the heavy hitters give the head of the distribution, the
// sample gives the tail, and together they yield the entropy, the coverage
// curve and the unseen share. While fewer distinct keys than the sample's
// capacity have been seen, every figure is exact.
// Not thread-safe; ShardedWorkloadSketch is the concurrent form.
#ifndef STRATA_ADVISOR_WORKLOAD_SKETCH_H_
#define STRATA_ADVISOR_WORKLOAD_SKETCH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "advisor/hyper_log_log.h"
#include "advisor/key_sample.h"
#include "advisor/space_saving.h"
#include "advisor/workload_stats.h"

namespace strata::advisor {

// The defaults take about 4 MiB with short keys and never more than 6.5 MiB
// whatever the keys (a heavy hitter keeps at most core::kMaxKeyBytes of its
// key), count distinct keys within 0.4% (one
// standard error), and keep the entropy within 0.1 bit of the
// truth on Zipf workloads of exponent 0.8 to 1.2 (see the tests); the
// entropy's error comes from the tail keys just below the heavy hitters'
// reach, so more heavy-hitter counters help most.
struct SketchOptions {
  int hll_precision = 16;        // 64 KiB, 0.4% standard error
  size_t heavy_hitters = 16384;  // Space-Saving counters
  size_t sample_size = 65536;    // bottom-k sample of the tail
  // Once every heavy-hitter counter is in use, each key goes to them with
  // probability 1/heavy_hitter_sampling, weighted by heavy_hitter_sampling
  // (an unbiased estimate of each key's count, at a fraction of the cost
  // per key); the request count, the HyperLogLog and the tail sample still
  // see every key, so distinct keys, the tail and its exact counts are as
  // without sampling. 1: every key (exact while the counters suffice).
  uint32_t heavy_hitter_sampling = 1;
};

class WorkloadSketch {
 public:
  explicit WorkloadSketch(const SketchOptions& options = {});

  // A key longer than core::kMaxKeyBytes is counted as its fingerprint
  // marker (core::BoundedKey), the key the server's row keys give for it.
  void Add(std::string_view key, uint64_t weight = 1);
  // `fingerprint` must be core::Fingerprint64(key), `key` a bounded key.
  // The key's bytes are read only when the heavy hitters take it.
  void Add(uint64_t fingerprint, std::string_view key, uint64_t weight = 1);
  // REQUIRES: `other` was built with the same options.
  void Merge(const WorkloadSketch& other);
  // Folds in the sketch of a disjoint set of keys (one shard of a stream
  // partitioned by key) without losing accuracy. REQUIRES: this sketch's
  // capacities are at least the sum of the shards'.
  void MergeDisjoint(const WorkloadSketch& other);

  // A compact binary form, and back (INVALID_ARGUMENT for a malformed one).
  std::string Encode() const;
  static absl::StatusOr<WorkloadSketch> Decode(std::string_view bytes);

  WorkloadStats Stats() const;

  uint64_t requests() const { return requests_; }
  const SketchOptions& options() const { return options_; }
  size_t MemoryBytes() const;

 private:
  WorkloadSketch(SketchOptions options, uint64_t requests, HyperLogLog distinct, SpaceSaving heavy,
                 KeySample sample);

  // Whether this key goes to the heavy hitters (heavy_hitter_sampling).
  bool SampleHeavy();

  SketchOptions options_;
  uint64_t random_state_ = 0x9e3779b97f4a7c15;  // splitmix64's
  uint64_t requests_ = 0;
  HyperLogLog distinct_;
  SpaceSaving heavy_;
  KeySample sample_;
};

}  // namespace strata::advisor

#endif  // STRATA_ADVISOR_WORKLOAD_SKETCH_H_
