// `strata advise`: measures one endpoint's workload -- from a key log
// (JSON Lines written by `strata serve --key-log`) or from a running
// server's live sketches -- and recommends static, hybrid or dynamic
// serving with the costs of each, a chart, and optionally the hot keys as a
// batch-job input (`--export-hot-keys K`).
#ifndef STRATA_CLI_ADVISE_COMMAND_H_
#define STRATA_CLI_ADVISE_COMMAND_H_

#include "CLI/CLI.hpp"

namespace strata::cli {

// Adds the `advise` subcommand to `app`.
void AddAdviseCommand(CLI::App& app);

}  // namespace strata::cli

#endif  // STRATA_CLI_ADVISE_COMMAND_H_
