// `strata check`: runs the five checks a model version passes before it
// takes traffic (functional, statistical, error handling, load, end-to-end)
// against any KServe v2 server, prints the report (text, or --json) and
// exits 0 when every check passes, 1 when one fails, 2 on a usage error.
#ifndef STRATA_CLI_CHECK_COMMAND_H_
#define STRATA_CLI_CHECK_COMMAND_H_

#include "CLI/CLI.hpp"

namespace strata::cli {

// The exit code of a usage error of `strata check`.
inline constexpr int kCheckUsageError = 2;

// Adds the `check` subcommand to `app`.
void AddCheckCommand(CLI::App& app);

}  // namespace strata::cli

#endif  // STRATA_CLI_CHECK_COMMAND_H_
