#include "serving/rollout/rollout_state.h"

#include <array>
#include <fstream>
#include <sstream>
#include <utility>

#include "fmt/format.h"
#include "yaml-cpp/yaml.h"

namespace strata::serving {
namespace {

constexpr std::string_view kSuffix = ".rollout.yaml";

constexpr std::array<std::pair<RolloutStatus, std::string_view>, 7> kStatusNames = {{
    {RolloutStatus::kPending, "pending"},
    {RolloutStatus::kRunning, "running"},
    {RolloutStatus::kPaused, "paused"},
    {RolloutStatus::kPromoted, "promoted"},
    {RolloutStatus::kRolledBack, "rolled_back"},
    {RolloutStatus::kFailed, "failed"},
    {RolloutStatus::kAborted, "aborted"},
}};

void EmitVersion(YAML::Emitter& out, const char* key, const RolloutCandidate& v) {
  out << YAML::Key << key << YAML::Value << YAML::BeginMap << YAML::Key << "model" << YAML::Value
      << v.model << YAML::Key << "version" << YAML::Value << v.version << YAML::EndMap;
}

RolloutCandidate ReadVersion(const YAML::Node& node) {
  return {.model = node["model"].as<std::string>(), .version = node["version"].as<std::string>()};
}

// The spec from its texts, as `strata rollout start` gave them.
absl::StatusOr<RolloutSpec> ReadSpec(const YAML::Node& root) {
  RolloutSpec spec;
  spec.endpoint = root["endpoint"].as<std::string>();
  spec.candidate = ReadVersion(root["candidate"]);
  spec.steps_text = root["steps"].as<std::string>();
  spec.gate_texts = root["gates"].as<std::vector<std::string>>();
  spec.load_timeout = std::chrono::milliseconds(root["load_timeout_ms"].as<int64_t>());
  absl::StatusOr<std::vector<RolloutStep>> steps = ParseSteps(spec.steps_text);
  if (!steps.ok()) return steps.status();
  spec.steps = *std::move(steps);
  absl::StatusOr<GateOptions> gates = ParseGates(spec.gate_texts);
  if (!gates.ok()) return gates.status();
  spec.gates = *gates;
  return spec;
}

absl::StatusOr<RolloutState> ReadState(const YAML::Node& root) {
  absl::StatusOr<RolloutSpec> spec = ReadSpec(root);
  if (!spec.ok()) return spec.status();
  RolloutState state;
  state.spec = *std::move(spec);
  std::optional<RolloutStatus> status = ParseRolloutStatus(root["status"].as<std::string>());
  if (!status) return absl::InvalidArgumentError("unknown status");
  state.status = *status;
  state.step = root["step"].as<size_t>();
  if (state.step >= state.spec.steps.size()) return absl::InvalidArgumentError("step out of range");
  state.started_unix_ms = root["started_unix_ms"].as<int64_t>();
  state.step_started_unix_ms = root["step_started_unix_ms"].as<int64_t>();
  state.reason = root["reason"].as<std::string>();
  state.stable = ReadVersion(root["stable"]);
  if (root["canary"]) state.canary = ReadVersion(root["canary"]);
  for (const YAML::Node& event : root["history"]) {
    state.history.push_back(
        {.unix_ms = event["unix_ms"].as<int64_t>(), .what = event["what"].as<std::string>()});
  }
  return state;
}

}  // namespace

std::string_view RolloutStatusName(RolloutStatus status) {
  for (const auto& [s, name] : kStatusNames) {
    if (s == status) return name;
  }
  return "unknown";
}

std::optional<RolloutStatus> ParseRolloutStatus(std::string_view name) {
  for (const auto& [s, n] : kStatusNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

void RolloutState::Record(int64_t unix_ms, std::string what) {
  history.push_back({.unix_ms = unix_ms, .what = std::move(what)});
  if (history.size() > kMaxEvents) history.erase(history.begin());
}

std::string EncodeRolloutState(const RolloutState& state) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "endpoint" << YAML::Value << state.spec.endpoint;
  EmitVersion(out, "candidate", state.spec.candidate);
  out << YAML::Key << "steps" << YAML::Value << state.spec.steps_text;
  out << YAML::Key << "gates" << YAML::Value << YAML::Flow << state.spec.gate_texts;
  out << YAML::Key << "load_timeout_ms" << YAML::Value << state.spec.load_timeout.count();
  out << YAML::Key << "status" << YAML::Value << std::string(RolloutStatusName(state.status));
  out << YAML::Key << "step" << YAML::Value << state.step;
  out << YAML::Key << "started_unix_ms" << YAML::Value << state.started_unix_ms;
  out << YAML::Key << "step_started_unix_ms" << YAML::Value << state.step_started_unix_ms;
  out << YAML::Key << "reason" << YAML::Value << state.reason;
  EmitVersion(out, "stable", state.stable);
  if (state.canary) EmitVersion(out, "canary", *state.canary);
  out << YAML::Key << "history" << YAML::Value << YAML::BeginSeq;
  for (const RolloutEvent& event : state.history) {
    out << YAML::BeginMap << YAML::Key << "unix_ms" << YAML::Value << event.unix_ms << YAML::Key
        << "what" << YAML::Value << event.what << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

absl::StatusOr<RolloutState> DecodeRolloutState(std::string_view text) {
  try {
    return ReadState(YAML::Load(std::string(text)));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(fmt::format("rollout state: {}", e.what()));
  }
}

absl::Status SaveRolloutState(const std::filesystem::path& dir, const RolloutState& state) {
  const std::string& name = state.spec.endpoint;
  if (name.empty() || name.find('/') != std::string::npos || name.front() == '.') {
    return absl::InvalidArgumentError(fmt::format("endpoint name '{}' cannot name a file", name));
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return absl::InternalError(fmt::format("{}: {}", dir.string(), std::string(ec.message())));
  const std::filesystem::path path = dir / (name + std::string(kSuffix));
  const std::filesystem::path temporary = dir / ("." + name + std::string(kSuffix) + ".tmp");
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << EncodeRolloutState(state);
    out.flush();
    if (!out) return absl::InternalError(fmt::format("{}: cannot write", temporary.string()));
  }
  std::filesystem::rename(temporary, path, ec);
  if (ec)
    return absl::InternalError(fmt::format("{}: {}", path.string(), std::string(ec.message())));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RolloutState>> LoadRolloutStates(const std::filesystem::path& dir) {
  std::vector<RolloutState> states;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return states;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (file.front() == '.' || !file.ends_with(kSuffix)) continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<RolloutState> state = DecodeRolloutState(text.str());
    if (!state.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("{}: {}", entry.path().string(), std::string(state.status().message())));
    }
    states.push_back(*std::move(state));
  }
  if (ec)
    return absl::InternalError(fmt::format("{}: {}", dir.string(), std::string(ec.message())));
  return states;
}

}  // namespace strata::serving
