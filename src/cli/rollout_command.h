// `strata rollout start|status|pause|resume|abort|promote ENDPOINT --url`:
// a split endpoint's rollout on a running server, through its control API
// (docs/serving.md: Rollouts).
#ifndef STRATA_CLI_ROLLOUT_COMMAND_H_
#define STRATA_CLI_ROLLOUT_COMMAND_H_

#include "CLI/CLI.hpp"

namespace strata::cli {

void AddRolloutCommand(CLI::App& app);

}  // namespace strata::cli

#endif  // STRATA_CLI_ROLLOUT_COMMAND_H_
