// SplitAssignment decides which arm of a split endpoint answers a key
// (docs/serving.md: Split endpoints). A salted hash puts each key in one
// of kBuckets buckets; the arms own contiguous bucket ranges in arm order,
// each as wide as its share of the total weight. A weight change moves
// only the range edges it must: with two arms (stable and canary), any
// change of weights moves keys only into the arm that grew, and with more
// arms the same holds when weight moves between neighbouring arms (their
// shared edge moves). Growing one of three or more arms with the others'
// weights kept rescales every range, so the arms in between shift: put the
// arms that ramp next to each other (docs/serving.md). Without a key, a
// uniformly random bucket gives the weights' distribution. A pure decision
// object: no clock, no threads, no randomness of its own. Immutable; thread-safe.
#ifndef STRATA_SERVING_PLANS_SPLIT_ASSIGNMENT_H_
#define STRATA_SERVING_PLANS_SPLIT_ASSIGNMENT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace strata::serving {

class SplitAssignment {
 public:
  static constexpr uint32_t kBuckets = 10000;

  // `weights` per arm, in arm order: each >= 0 and finite, their sum > 0.
  // `salt` (the endpoint's name unless configured) keeps two endpoints'
  // assignments independent. INVALID_ARGUMENT otherwise.
  static absl::StatusOr<SplitAssignment> Create(const std::vector<double>& weights,
                                                std::string salt);

  // The bucket of `key` in [0, kBuckets): a 64-bit FNV-1a hash of the salt
  // and the key, mixed, modulo kBuckets. Stable across runs and builds.
  uint32_t Bucket(std::string_view key) const;
  // The arm owning `bucket` (< kBuckets); never an arm of weight 0.
  size_t ArmOfBucket(uint32_t bucket) const;
  size_t ArmOf(std::string_view key) const { return ArmOfBucket(Bucket(key)); }

  // Arm i owns buckets [ends()[i-1], ends()[i]) (ends()[-1] is 0).
  const std::vector<uint32_t>& ends() const { return ends_; }

 private:
  SplitAssignment(std::vector<uint32_t> ends, std::string salt)
      : ends_(std::move(ends)), salt_(std::move(salt)) {}

  std::vector<uint32_t> ends_;
  std::string salt_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_PLANS_SPLIT_ASSIGNMENT_H_
