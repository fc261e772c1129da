// The functional check's samples: requests and the answers expected for
// them. A samples file is the `samples.json` the example trainers write
// ({"request": ..., "expected": ...}), or {"samples": [{"request": ...,
// "expected": ...}, ...]}; either may carry a "tolerance". Pure; thread-safe.
#ifndef STRATA_CHECK_SAMPLE_SET_H_
#define STRATA_CHECK_SAMPLE_SET_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "check/json_tensor.h"

namespace strata::check {

struct Sample {
  std::string request_body;  // a KServe v2 inference request, as JSON text
  std::vector<JsonTensor> inputs;
  std::vector<JsonTensor> expected;  // the outputs the answer must match
};

struct SampleSet {
  std::vector<Sample> samples;  // at least one
  std::optional<double> tolerance;
};

// Error names what is wrong with the file's text.
absl::StatusOr<SampleSet> ParseSampleSet(std::string_view text);

}  // namespace strata::check

#endif  // STRATA_CHECK_SAMPLE_SET_H_
