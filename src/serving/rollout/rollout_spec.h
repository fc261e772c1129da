// What a rollout is asked to do (docs/serving.md: Rollouts): the split
// endpoint, the candidate model version, the steps of its ramp and the
// gates that judge each step. Value types and their parsers; the text
// forms are what `strata rollout start` and the control route accept, and
// what the state file keeps.
#ifndef STRATA_SERVING_ROLLOUT_ROLLOUT_SPEC_H_
#define STRATA_SERVING_ROLLOUT_ROLLOUT_SPEC_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace strata::serving {

// The model version a rollout brings in: `model@version`.
struct RolloutCandidate {
  std::string model;
  std::string version;  // a number
};

// One step of the ramp: the candidate's share of the traffic (percent), and
// how long and how many candidate requests the step takes at least before
// its gates may pass it.
struct RolloutStep {
  double weight = 0;
  std::chrono::milliseconds min_duration{0};
  int64_t min_requests = 0;
};

// Which gates judge a step, and their thresholds. A gate fails only when
// its test is significant (z above z_critical, one-sided) AND the effect is
// large enough; with fewer than min_samples per arm it has not enough data.
struct GateOptions {
  bool error = true;
  bool latency = true;
  bool quality = false;            // needs a quality source with data
  double z_critical = 2.326;       // one-sided alpha = 0.01
  double error_min_diff = 0.01;    // candidate error rate - stable's, absolute
  double latency_p99_ratio = 2.0;  // candidate p99 / stable p99
  // candidate p99 - stable p99: a canary at a small share runs on colder
  // threads, and on a busy machine its wake-ups alone cost milliseconds.
  double latency_min_diff_ms = 10;
  double quality_min_diff = 0.0;  // candidate mean loss - stable's
  int64_t min_samples = 30;       // per arm, per gate
};

struct RolloutSpec {
  std::string endpoint;
  RolloutCandidate candidate;
  std::vector<RolloutStep> steps;
  GateOptions gates;
  // How long the candidate may take to be loaded and ready.
  std::chrono::milliseconds load_timeout{60000};
  // The texts they were parsed from (kept in the state file).
  std::string steps_text;
  std::vector<std::string> gate_texts;
};

// "model@version", the version a positive number.
absl::StatusOr<RolloutCandidate> ParseCandidate(std::string_view text);
// "W[:DURATION[:MIN_REQUESTS]],..." e.g. "5:60s:200,25:60s:500,100": the
// weights rise strictly, each in (0, 100]; only the last may be 100 (a last
// step of 100 is the promotion itself). DURATION is e.g. 500ms, 30s, 2m.
absl::StatusOr<std::vector<RolloutStep>> ParseSteps(std::string_view text);
// Each "NAME[:THRESHOLD]": error[:MIN_DIFF], latency[:P99_RATIO],
// quality[:MIN_DIFF], z:CRITICAL, min-samples:N, latency-min-ms:N. No gate named at all: the
// defaults (error and latency); naming any gate turns on only those named.
absl::StatusOr<GateOptions> ParseGates(const std::vector<std::string>& texts);
// A duration: a number with ms, s or m (a bare number is seconds).
absl::StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace strata::serving

#endif  // STRATA_SERVING_ROLLOUT_ROLLOUT_SPEC_H_
