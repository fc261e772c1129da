// `strata features fit|build|materialize|skew`: the offline half of the
// feature pipeline (docs/features.md). fit computes a definition's fitted
// parameters from training rows; build writes a point-in-time training set;
// materialize writes a feature table version into a table store (RocksDB
// or Redis) and publishes it; skew recomputes the server's served-feature
// log from the same tables and reports what differs. The logic lives in
// src/features; this file parses flags and composes the stores.
#ifndef STRATA_CLI_FEATURES_COMMAND_H_
#define STRATA_CLI_FEATURES_COMMAND_H_

#include "CLI/CLI.hpp"

namespace strata::cli {

// Adds the `features` subcommand and its subcommands to `app`.
void AddFeaturesCommand(CLI::App& app);

}  // namespace strata::cli

#endif  // STRATA_CLI_FEATURES_COMMAND_H_
