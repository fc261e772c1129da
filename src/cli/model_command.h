// `strata model`: model control against a running server (rollback, load,
// unload, default, label), through its control API.
#ifndef STRATA_CLI_MODEL_COMMAND_H_
#define STRATA_CLI_MODEL_COMMAND_H_

#include "CLI/CLI.hpp"

namespace strata::cli {

void AddModelCommand(CLI::App& app);

}  // namespace strata::cli

#endif  // STRATA_CLI_MODEL_COMMAND_H_
