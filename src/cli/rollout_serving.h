// The rollout controller of `strata serve`: a RolloutManager over the split
// endpoints, whose candidates are ready when the core serves their version,
// with its state files in --state-dir (docs/serving.md: Rollouts).
#ifndef STRATA_CLI_ROLLOUT_SERVING_H_
#define STRATA_CLI_ROLLOUT_SERVING_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "serving/rollout/rollout_manager.h"
#include "serving/server_core.h"
#include "serving/split_endpoint.h"

namespace strata::cli {

struct RolloutServeFlags {
  std::string state_dir;   // empty: <repository>/.strata/rollouts
  int64_t tick_ms = 1000;  // how often rollouts are judged
};

// Null when there is no split endpoint. `core` must outlive the manager.
absl::StatusOr<std::unique_ptr<serving::RolloutManager>> StartRollouts(
    const RolloutServeFlags& flags, const std::string& repository, const serving::ServerCore& core,
    std::vector<std::shared_ptr<serving::SplitEndpoint>> splits);

}  // namespace strata::cli

#endif  // STRATA_CLI_ROLLOUT_SERVING_H_
