// `strata serve`: loads a model repository and serves it over REST until
// SIGINT/SIGTERM.
#ifndef STRATA_CLI_SERVE_COMMAND_H_
#define STRATA_CLI_SERVE_COMMAND_H_

#include "CLI/CLI.hpp"

namespace strata::cli {

// Adds the `serve` subcommand to `app`; it runs when parsed.
void AddServeCommand(CLI::App& app);

}  // namespace strata::cli

#endif  // STRATA_CLI_SERVE_COMMAND_H_
