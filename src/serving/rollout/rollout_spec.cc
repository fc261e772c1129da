#include "serving/rollout/rollout_spec.h"

#include <charconv>
#include <cmath>

#include "fmt/format.h"

namespace strata::serving {
namespace {

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

absl::StatusOr<double> Number(std::string_view text, std::string_view what) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value)) {
    return absl::InvalidArgumentError(fmt::format("{} '{}' is not a number", what, text));
  }
  return value;
}

absl::StatusOr<RolloutStep> ParseStep(std::string_view text) {
  std::vector<std::string_view> parts = Split(text, ':');
  if (parts.size() > 3) {
    return absl::InvalidArgumentError(
        fmt::format("step '{}' has more than WEIGHT:DURATION:MIN_REQUESTS, e.g. 5:60s:200", text));
  }
  RolloutStep step;
  absl::StatusOr<double> weight = Number(parts[0], "step weight");
  if (!weight.ok()) return weight.status();
  if (*weight <= 0 || *weight > 100) {
    return absl::InvalidArgumentError(
        fmt::format("step '{}': the weight is a percentage in (0, 100]", text));
  }
  step.weight = *weight;
  if (parts.size() >= 2) {
    absl::StatusOr<std::chrono::milliseconds> duration = ParseDuration(parts[1]);
    if (!duration.ok()) return duration.status();
    step.min_duration = *duration;
  }
  if (parts.size() == 3) {
    absl::StatusOr<double> requests = Number(parts[2], "step minimum requests");
    if (!requests.ok()) return requests.status();
    if (*requests < 0 || *requests != std::floor(*requests)) {
      return absl::InvalidArgumentError(
          fmt::format("step '{}': the minimum requests is a whole number >= 0", text));
    }
    step.min_requests = static_cast<int64_t>(*requests);
  }
  return step;
}

// Applies one "NAME[:VALUE]" to `gates`.
absl::Status ApplyGate(std::string_view text, GateOptions& gates) {
  const size_t colon = text.find(':');
  const std::string_view name = text.substr(0, colon);
  const std::string_view value = colon == std::string_view::npos ? "" : text.substr(colon + 1);
  absl::StatusOr<double> number = value.empty() ? absl::StatusOr<double>(-1) : Number(value, name);
  if (!number.ok()) return number.status();
  const bool given = !value.empty();
  if (name == "error") {
    gates.error = true;
    if (given) gates.error_min_diff = *number;
  } else if (name == "latency") {
    gates.latency = true;
    if (given) gates.latency_p99_ratio = *number;
  } else if (name == "quality") {
    gates.quality = true;
    if (given) gates.quality_min_diff = *number;
  } else if (name == "z" && given && *number > 0) {
    gates.z_critical = *number;
  } else if (name == "latency-min-ms" && given && *number >= 0) {
    gates.latency_min_diff_ms = *number;
  } else if (name == "min-samples" && given && *number >= 1) {
    gates.min_samples = static_cast<int64_t>(*number);
  } else {
    return absl::InvalidArgumentError(
        fmt::format("gate '{}': use error[:MIN_DIFF], latency[:P99_RATIO], quality[:MIN_DIFF], "
                    "z:CRITICAL, min-samples:N or latency-min-ms:N",
                    text));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RolloutCandidate> ParseCandidate(std::string_view text) {
  const size_t at = text.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == text.size()) {
    return absl::InvalidArgumentError(
        fmt::format("candidate '{}' must be MODEL@VERSION, e.g. churn@3", text));
  }
  const std::string_view version = text.substr(at + 1);
  int64_t number = 0;
  const auto [end, error] =
      std::from_chars(version.data(), version.data() + version.size(), number);
  if (error != std::errc() || end != version.data() + version.size() || number <= 0) {
    return absl::InvalidArgumentError(
        fmt::format("candidate '{}': the version must be a positive number", text));
  }
  return RolloutCandidate{.model = std::string(text.substr(0, at)),
                          .version = std::string(version)};
}

absl::StatusOr<std::vector<RolloutStep>> ParseSteps(std::string_view text) {
  std::vector<RolloutStep> steps;
  for (std::string_view part : Split(text, ',')) {
    absl::StatusOr<RolloutStep> step = ParseStep(part);
    if (!step.ok()) return step.status();
    if (!steps.empty() && step->weight <= steps.back().weight) {
      return absl::InvalidArgumentError(
          fmt::format("steps '{}': the weights must rise from step to step", text));
    }
    if (!steps.empty() && steps.back().weight >= 100) {
      return absl::InvalidArgumentError(
          fmt::format("steps '{}': only the last step may be 100", text));
    }
    steps.push_back(*step);
  }
  return steps;
}

absl::StatusOr<GateOptions> ParseGates(const std::vector<std::string>& texts) {
  GateOptions gates;
  if (texts.empty()) return gates;
  gates.error = gates.latency = gates.quality = false;
  for (const std::string& text : texts) {
    if (absl::Status s = ApplyGate(text, gates); !s.ok()) return s;
  }
  if (!gates.error && !gates.latency && !gates.quality) gates.error = gates.latency = true;
  return gates;
}

absl::StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  double scale = 1000;
  std::string_view number = text;
  if (text.ends_with("ms")) {
    scale = 1;
    number.remove_suffix(2);
  } else if (text.ends_with("s")) {
    number.remove_suffix(1);
  } else if (text.ends_with("m")) {
    scale = 60000;
    number.remove_suffix(1);
  }
  absl::StatusOr<double> value = Number(number, "duration");
  if (!value.ok() || *value < 0) {
    return absl::InvalidArgumentError(
        fmt::format("duration '{}': use e.g. 500ms, 30s or 2m", text));
  }
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(*value * scale)));
}

}  // namespace strata::serving
