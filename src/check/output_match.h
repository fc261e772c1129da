// Compares a server's outputs with expected ones within a tolerance, and
// names the first difference: which output, row and element. Pure;
// thread-safe.
#ifndef STRATA_CHECK_OUTPUT_MATCH_H_
#define STRATA_CHECK_OUTPUT_MATCH_H_

#include <optional>
#include <string>
#include <vector>

#include "check/json_tensor.h"

namespace strata::check {

// A value matches when |actual - expected| <= tolerance * max(1, |expected|).
struct OutputMismatch {
  std::string output;
  std::string what;  // "row 3 element 0: expected 0.99366, got 0.1 (tolerance 1e-05)"
};

// The first expected output that is missing from `actual`, has another
// shape, or has a value outside the tolerance; nullopt when all match.
// Outputs in `actual` that are not expected are ignored.
std::optional<OutputMismatch> FindMismatch(const std::vector<JsonTensor>& expected,
                                           const std::vector<JsonTensor>& actual, double tolerance);

}  // namespace strata::check

#endif  // STRATA_CHECK_OUTPUT_MATCH_H_
