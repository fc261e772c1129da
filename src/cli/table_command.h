// `strata table`: inspect and manage prediction tables: list versions, show
// a manifest and its verification report, get a key, export to CSV or JSON
// Lines, verify a version's data against its manifest, publish a version,
// roll back to the previous one; and, against a running server's control
// API (--url), load, unload, label, default and rollback a followed table.
#ifndef STRATA_CLI_TABLE_COMMAND_H_
#define STRATA_CLI_TABLE_COMMAND_H_

#include "CLI/CLI.hpp"

namespace strata::cli {

// Adds the `table` subcommand (and its own subcommands) to `app`.
void AddTableCommand(CLI::App& app);

}  // namespace strata::cli

#endif  // STRATA_CLI_TABLE_COMMAND_H_
