#include "serving/experiment_config.h"

#include <cctype>
#include <set>
#include <string>

#include "fmt/format.h"

namespace strata::serving {
namespace {

absl::Status Invalid(const std::string& what) { return absl::InvalidArgumentError(what); }

absl::Status CheckKeys(const YAML::Node& node, std::string_view section,
                       const std::set<std::string, std::less<>>& known, std::string_view list) {
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    if (!known.contains(key)) {
      return Invalid(fmt::format("unknown {} key '{}'; known: {}", section, key, list));
    }
  }
  return absl::OkStatus();
}

// "3600s", "60m", "1h" or a number of seconds.
std::optional<int64_t> ParseSeconds(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 12) return std::nullopt;
  const int64_t number = std::stoll(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  if (unit.empty() || unit == "s") return number;
  if (unit == "m") return number * 60;
  if (unit == "h") return number * 3600;
  return std::nullopt;
}

// The shadow's limits: share, queue, max_in_flight and cpu_share.
absl::Status ParseShadowLimits(const YAML::Node& node, ShadowConfig& shadow) {
  if (node["share"]) shadow.share = node["share"].as<double>();
  if (!(shadow.share >= 0 && shadow.share <= 1)) return Invalid("shadow share must be 0 to 1");
  if (node["queue"]) {
    const int64_t queue = node["queue"].as<int64_t>();
    if (queue < 1 || queue > 100000) return Invalid("shadow queue must be 1 to 100000");
    shadow.queue = static_cast<size_t>(queue);
  }
  if (node["max_in_flight"]) {
    const int64_t most = node["max_in_flight"].as<int64_t>();
    if (most < 0 || most > 100000) return Invalid("shadow max_in_flight must be 0 to 100000");
    shadow.max_in_flight = static_cast<size_t>(most);
  }
  if (node["cpu_share"]) shadow.cpu_share = node["cpu_share"].as<double>();
  if (!(shadow.cpu_share > 0 && shadow.cpu_share <= 1)) {
    return Invalid("shadow cpu_share must be over 0 and at most 1 (of one core)");
  }
  return absl::OkStatus();
}

absl::Status ParseShadow(const YAML::Node& node, EndpointConfig& config) {
  if (!node.IsMap())
    return Invalid("shadow must be a map: {model, version or label, share, queue}");
  if (absl::Status s = CheckKeys(node, "shadow",
                                 {"model", "version", "label", "live_model", "share", "queue",
                                  "max_in_flight", "cpu_share"},
                                 "model, version, label, live_model, share, queue, "
                                 "max_in_flight, cpu_share");
      !s.ok()) {
    return s;
  }
  ShadowConfig shadow;
  if (node["live_model"]) shadow.live_model = node["live_model"].as<bool>();
  if (node["model"]) shadow.model = node["model"].as<std::string>();
  if (node["version"] && node["label"]) return Invalid("shadow: give version or label, not both");
  if (node["version"]) shadow.version = std::to_string(node["version"].as<int64_t>());
  if (node["label"]) shadow.version = node["label"].as<std::string>();
  if (shadow.live_model != shadow.model.empty()) {
    return Invalid("shadow needs a model, or live_model: true (not both)");
  }
  if (shadow.live_model && config.plan != PlanKind::kStatic && config.plan != PlanKind::kHybrid) {
    return Invalid(
        "shadow live_model: true belongs to plans static and hybrid (they read a table)");
  }
  if (absl::Status s = ParseShadowLimits(node, shadow); !s.ok()) return s;
  config.shadow = std::move(shadow);
  return absl::OkStatus();
}

absl::Status ParseFeedback(const YAML::Node& node, EndpointConfig& config) {
  if (node.IsScalar() && (node.as<std::string>() == "false" || node.as<std::string>() == "true")) {
    config.feedback = node.as<bool>() ? std::optional(FeedbackConfig{}) : std::nullopt;
    return absl::OkStatus();
  }
  if (!node.IsMap()) return Invalid("feedback must be a map {retention, max_age, task} or false");
  if (absl::Status s =
          CheckKeys(node, "feedback", {"retention", "max_age", "task"}, "retention, max_age, task");
      !s.ok()) {
    return s;
  }
  FeedbackConfig feedback;
  if (node["retention"]) {
    const int64_t retention = node["retention"].as<int64_t>();
    if (retention < 1 || retention > 10000000)
      return Invalid("feedback retention must be 1 to 10000000");
    feedback.retention = static_cast<size_t>(retention);
  }
  if (node["max_age"]) {
    const std::optional<int64_t> seconds = ParseSeconds(node["max_age"].as<std::string>());
    if (!seconds || *seconds < 1)
      return Invalid("feedback max_age must be a duration such as 3600s, 60m or 1h");
    feedback.max_age_s = *seconds;
  }
  if (node["task"]) {
    const std::string task = node["task"].as<std::string>();
    if (task != "classification" && task != "regression") {
      return Invalid(fmt::format("feedback task '{}' is not classification or regression", task));
    }
    feedback.task =
        task == "regression" ? FeedbackTask::kRegression : FeedbackTask::kClassification;
  }
  config.feedback = feedback;
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseExperimentKeys(const YAML::Node& node, EndpointConfig& config) {
  try {
    if (node["shadow"]) {
      if (absl::Status s = ParseShadow(node["shadow"], config); !s.ok()) return s;
    }
    if (node["feedback"]) return ParseFeedback(node["feedback"], config);
  } catch (const YAML::Exception& e) {
    return Invalid(fmt::format("{} (line {})", e.msg, e.mark.line + 1));
  }
  return absl::OkStatus();
}

}  // namespace strata::serving
