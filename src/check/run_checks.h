// `RunChecks`: the five checks a model version passes before it takes
// traffic -- functional, statistical, error handling, load, end-to-end --
// against any KServe v2 server over REST. The library behind `strata check`,
// for any caller that must decide whether a version may take traffic (a
// rollout runs it against a candidate first). Blocks for about the load
// duration plus the requests' time; thread-safe (no shared state).
#ifndef STRATA_CHECK_RUN_CHECKS_H_
#define STRATA_CHECK_RUN_CHECKS_H_

#include "absl/status/statusor.h"
#include "check/check_report.h"
#include "check/check_target.h"

namespace strata::check {

// A report when the checks ran (CheckReport::Passed() says whether the
// version may take traffic). Error when they could not run:
// InvalidArgument or NotFound for missing or malformed inputs (see
// check_inputs.h), Unavailable when the server cannot be reached.
absl::StatusOr<CheckReport> RunChecks(const CheckTarget& target, const CheckOptions& options);

}  // namespace strata::check

#endif  // STRATA_CHECK_RUN_CHECKS_H_
