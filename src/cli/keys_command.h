// `strata keys`: makes API keys for a keys file (docs/security.md).
// `strata keys hash` prints the SHA-256 of a secret read from stdin;
// `strata keys add` makes a new secret, adds its entry to the keys file and
// prints the secret (the only time it is shown).
#ifndef STRATA_CLI_KEYS_COMMAND_H_
#define STRATA_CLI_KEYS_COMMAND_H_

#include "CLI/CLI.hpp"

namespace strata::cli {

void AddKeysCommand(CLI::App& app);

}  // namespace strata::cli

#endif  // STRATA_CLI_KEYS_COMMAND_H_
