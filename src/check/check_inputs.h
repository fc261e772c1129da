// The files a check reads, found and parsed: the samples (required), the
// held-out requests and the reference histogram (optional: without them the
// statistical check is skipped, and the reason says what is missing).
#ifndef STRATA_CHECK_CHECK_INPUTS_H_
#define STRATA_CHECK_CHECK_INPUTS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "check/check_target.h"
#include "check/sample_set.h"
#include "check/score_histogram.h"

namespace strata::check {

struct CheckInputs {
  SampleSet samples;
  double tolerance = 1e-5;
  std::vector<std::string> heldout;  // request bodies, one per JSON Lines line
  std::optional<ScoreHistogram> reference;
  std::string statistical_missing;  // why the statistical check cannot run, if it cannot
};

// InvalidArgument when no samples source is given or a file is malformed;
// NotFound when a named file or the version directory does not exist.
absl::StatusOr<CheckInputs> ReadCheckInputs(const CheckTarget& target, const CheckOptions& options);

}  // namespace strata::check

#endif  // STRATA_CHECK_CHECK_INPUTS_H_
