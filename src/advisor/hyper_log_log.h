// HyperLogLog estimates the number of distinct keys in a stream from their
// 64-bit fingerprints, in 2^precision bytes (16 KiB at the default 14, with
// a standard error of 1.04 / sqrt(2^14) = 0.8%). The estimate is Ertl's
// improved estimator ("New cardinality estimation algorithms for
// HyperLogLog sketches", 2017), which needs neither bias tables nor a switch
// to linear counting. Sketches of equal precision merge exactly.
// Not thread-safe: callers serialise access (see ShardedWorkloadSketch).
#ifndef STRATA_ADVISOR_HYPER_LOG_LOG_H_
#define STRATA_ADVISOR_HYPER_LOG_LOG_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "advisor/byte_codec.h"

namespace strata::advisor {

class HyperLogLog {
 public:
  // REQUIRES: 4 <= precision <= 18.
  explicit HyperLogLog(int precision = 14);

  void Add(uint64_t fingerprint);
  // REQUIRES: other.precision() == precision().
  void Merge(const HyperLogLog& other);

  double Estimate() const;

  void EncodeTo(ByteWriter& out) const;
  static std::optional<HyperLogLog> DecodeFrom(ByteReader& in);

  int precision() const { return precision_; }
  size_t MemoryBytes() const { return registers_.size(); }

 private:
  int precision_;
  std::vector<uint8_t> registers_;
};

}  // namespace strata::advisor

#endif  // STRATA_ADVISOR_HYPER_LOG_LOG_H_
