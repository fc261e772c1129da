// WorkloadSnapshot is what a live server hands to `strata advise`: one
// endpoint's workload sketch, how long it has been observing, and the cost
// figures it measured itself (model time per row, latency quantiles,
// lookup time). Encoded in a compact binary form for
// GET /v2/advisor/{endpoint}/snapshot. A value type.
#ifndef STRATA_ADVISOR_WORKLOAD_SNAPSHOT_H_
#define STRATA_ADVISOR_WORKLOAD_SNAPSHOT_H_

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "advisor/workload_sketch.h"

namespace strata::advisor {

// Names of measured figures, in CostFigures' terms.
inline constexpr std::string_view kModelUsPerRow = "model_us_per_row";
inline constexpr std::string_view kModelP50Us = "model_p50_us";
inline constexpr std::string_view kModelP99Us = "model_p99_us";
inline constexpr std::string_view kLookupUs = "lookup_us";
inline constexpr std::string_view kBytesPerEntry = "bytes_per_entry";

struct WorkloadSnapshot {
  std::string endpoint;
  double seconds = 0;  // since the sketch started
  // Keys are fingerprints of the rows' inputs (a model's own endpoint), not
  // key-column values: they cannot be exported as a batch input.
  bool hashed_keys = false;
  std::map<std::string, double, std::less<>> figures;
  WorkloadSketch sketch;

  std::string Encode() const;
  // INVALID_ARGUMENT for bytes that are not an encoded snapshot.
  static absl::StatusOr<WorkloadSnapshot> Decode(std::string_view bytes);
};

}  // namespace strata::advisor

#endif  // STRATA_ADVISOR_WORKLOAD_SNAPSHOT_H_
