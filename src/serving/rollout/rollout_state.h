// RolloutState is what the server remembers of one endpoint's rollout, and
// what its state file holds: the spec, where the ramp is, how it ended and
// the history of its events. RolloutStateFile writes it atomically (a
// temporary file, then rename) as YAML in the state directory, one file per
// endpoint, and reads them back at start (docs/serving.md: Rollouts).
#ifndef STRATA_SERVING_ROLLOUT_ROLLOUT_STATE_H_
#define STRATA_SERVING_ROLLOUT_ROLLOUT_STATE_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "serving/rollout/rollout_spec.h"

namespace strata::serving {

// kPending: waiting for the candidate to be ready and pass its check; no
// traffic yet. kRunning and kPaused: on a step. The others are final.
enum class RolloutStatus { kPending, kRunning, kPaused, kPromoted, kRolledBack, kFailed, kAborted };

std::string_view RolloutStatusName(RolloutStatus status);
std::optional<RolloutStatus> ParseRolloutStatus(std::string_view name);
inline bool IsActive(RolloutStatus s) {
  return s == RolloutStatus::kPending || s == RolloutStatus::kRunning ||
         s == RolloutStatus::kPaused;
}

struct RolloutEvent {
  int64_t unix_ms = 0;
  std::string what;
};

struct RolloutState {
  static constexpr size_t kMaxEvents = 100;

  RolloutSpec spec;
  RolloutStatus status = RolloutStatus::kPending;
  size_t step = 0;
  int64_t started_unix_ms = 0;
  int64_t step_started_unix_ms = 0;        // informative: a restart restarts the step's clock
  std::string reason;                      // why it ended, or what it waits for
  RolloutCandidate stable;                 // the stable arm's model version before the rollout
  std::optional<RolloutCandidate> canary;  // the canary arm's before it, if there was one
  std::vector<RolloutEvent> history;       // the last kMaxEvents

  // Appends an event, dropping the oldest beyond kMaxEvents.
  void Record(int64_t unix_ms, std::string what);
};

std::string EncodeRolloutState(const RolloutState& state);
absl::StatusOr<RolloutState> DecodeRolloutState(std::string_view text);

// `dir`/<endpoint>.rollout.yaml, written to a temporary file then renamed.
absl::Status SaveRolloutState(const std::filesystem::path& dir, const RolloutState& state);
// Every state file of `dir` (none when it does not exist); a file that does
// not parse is an error naming it.
absl::StatusOr<std::vector<RolloutState>> LoadRolloutStates(const std::filesystem::path& dir);

}  // namespace strata::serving

#endif  // STRATA_SERVING_ROLLOUT_ROLLOUT_STATE_H_
