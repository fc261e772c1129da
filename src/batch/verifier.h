// Verification before publishing: checks a new table version's statistics
// against the job's expectations and, when there is one, against the
// previous version (population stability index of the first output). The
// report goes into the manifest; a failed check means nothing is published.
// Pure functions; thread-safe.
#ifndef STRATA_BATCH_VERIFIER_H_
#define STRATA_BATCH_VERIFIER_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "store/table_manifest.h"

namespace strata::batch {

struct Expectations {
  std::optional<int64_t> min_rows;
  std::optional<int64_t> max_rows;
  int64_t max_nan = 0;              // NaN plus infinite values allowed, over all outputs
  std::optional<double> min_value;  // every finite value at least this
  std::optional<double> max_value;  // ... at most this
  std::optional<double> min_mean;   // of the first output
  std::optional<double> max_mean;
  double max_psi = 0.25;      // vs the previous version; <= 0 disables
  int64_t max_rejected = -1;  // rows skipped as malformed; < 0: any
};

// `psi` is the first output's PSI against `previous` (when there is one).
store::VerificationReport Verify(const std::vector<store::OutputStats>& stats, int64_t rows,
                                 int64_t rejected, const Expectations& expect,
                                 const store::TableManifest* previous, std::optional<double> psi);

}  // namespace strata::batch

#endif  // STRATA_BATCH_VERIFIER_H_
