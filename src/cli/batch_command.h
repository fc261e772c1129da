// `strata batch`: runs one model version over input rows (CSV or JSON
// Lines) and writes one prediction per row, keys passed through, to a
// prediction table (verified, then published atomically) or a file.
// Resumable, shardable; see batch/batch_job.h.
#ifndef STRATA_CLI_BATCH_COMMAND_H_
#define STRATA_CLI_BATCH_COMMAND_H_

#include "CLI/CLI.hpp"

namespace strata::cli {

// Adds the `batch` subcommand to `app`; it runs when parsed.
void AddBatchCommand(CLI::App& app);

}  // namespace strata::cli

#endif  // STRATA_CLI_BATCH_COMMAND_H_
