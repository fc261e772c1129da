// FinalizeJob is the last step of a batch job, run once by the process
// that completes the last shard: it merges every chunk's sorted run in key
// order into the output (a new table version, or the output file), computes
// the statistics and checksum on the way, verifies them, and only then
// commits and publishes. A failed check or error leaves no visible output.
// Not thread-safe; the caller holds the job's publish lock.
#ifndef STRATA_BATCH_JOB_FINALIZER_H_
#define STRATA_BATCH_JOB_FINALIZER_H_

#include <cstdint>
#include <filesystem>
#include <vector>

#include "absl/status/statusor.h"
#include "batch/batch_job.h"
#include "store/table_manifest.h"

namespace strata::batch {

// `chunks`: how many chunks the input has (every run 0..chunks-1 must
// exist). Fills the output fields of `result`.
absl::Status FinalizeJob(const BatchJobOptions& options, const std::filesystem::path& job_dir,
                         int64_t chunks, const std::vector<store::OutputColumn>& outputs,
                         BatchJobResult& result);

}  // namespace strata::batch

#endif  // STRATA_BATCH_JOB_FINALIZER_H_
