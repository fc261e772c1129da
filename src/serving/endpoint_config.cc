#include "serving/endpoint_config.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "serving/experiment_config.h"
#include "store/table_store.h"
#include "yaml-cpp/yaml.h"

namespace strata::serving {
namespace {

const std::set<std::string, std::less<>> kEndpointKeys = {
    "plan",  "table", "store",           "key",    "default", "on_store_error",
    "model", "cache", "table_in_memory", "shadow", "feedback"};
const std::set<std::string, std::less<>> kSplitKeys = {"plan",          "arms",   "sticky_key",
                                                       "sticky_header", "salt",   "shadow",
                                                       "feedback",      "policy", "min_share"};
const std::set<std::string, std::less<>> kArmKeys = {"name",  "model",  "version",
                                                     "label", "weight", "endpoint"};

// "64MiB", "1GiB", "4096" (bytes); nullopt when it is not a size.
std::optional<size_t> ParseSize(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  const size_t number = std::stoull(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  static const std::map<std::string, size_t> kUnits = {
      {"", 1},      {"B", 1},        {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
      {"KB", 1000}, {"MB", 1000000}, {"GB", 1000000000}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) return std::nullopt;
  return number * it->second;
}

// The `cache:` map of an endpoint, when given.
absl::Status ParseCache(const YAML::Node& cache, EndpointConfig& config) {
  auto invalid = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  if (!cache) return absl::OkStatus();
  if (!cache.IsMap()) return invalid("cache must be a map of max_bytes and ttl_s");
  for (const auto& entry : cache) {
    const std::string key = entry.first.as<std::string>();
    if (key != "max_bytes" && key != "ttl_s") {
      return invalid(fmt::format("unknown cache key '{}'; known: max_bytes, ttl_s", key));
    }
  }
  if (cache["max_bytes"]) {
    const std::optional<size_t> bytes = ParseSize(cache["max_bytes"].as<std::string>());
    if (!bytes) return invalid("cache max_bytes must be a size such as 64MiB or 1048576");
    config.cache_max_bytes = *bytes;
  }
  if (cache["ttl_s"]) config.cache_ttl_s = cache["ttl_s"].as<double>();
  if (config.cache_ttl_s < 0) return invalid("cache ttl_s must be >= 0");
  return absl::OkStatus();
}

absl::StatusOr<SplitArmConfig> ParseArm(const YAML::Node& node, size_t index) {
  auto invalid = [&](std::string_view what) {
    return absl::InvalidArgumentError(fmt::format("arm {}: {}", index + 1, what));
  };
  if (!node.IsMap()) {
    return invalid("must be a map of name, model (version or label) or endpoint, weight");
  }
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    if (!kArmKeys.contains(key)) {
      return invalid(fmt::format(
          "unknown key '{}'; known: name, model, version, label, endpoint, weight", key));
    }
  }
  if (!node["name"] || !node["weight"] || (!node["model"] && !node["endpoint"])) {
    return invalid("needs name, weight and a model or an endpoint");
  }
  if (node["model"] && node["endpoint"]) return invalid("give model or endpoint, not both");
  if (node["endpoint"] && (node["version"] || node["label"])) {
    return invalid("an endpoint arm takes no version or label: the endpoint chooses its own");
  }
  if (node["version"] && node["label"]) return invalid("give version or label, not both");
  SplitArmConfig arm;
  arm.name = node["name"].as<std::string>();
  if (node["endpoint"]) arm.endpoint = node["endpoint"].as<std::string>();
  if (node["model"]) arm.model = node["model"].as<std::string>();
  arm.weight = node["weight"].as<double>();
  if (node["version"]) {
    const int64_t version = node["version"].as<int64_t>();
    if (version <= 0) return invalid("version must be a positive number");
    arm.version = std::to_string(version);
  }
  if (node["label"]) arm.version = node["label"].as<std::string>();
  if (arm.name.empty() || (arm.model.empty() && arm.endpoint.empty())) {
    return invalid("name and model or endpoint must not be empty");
  }
  if (!(arm.weight >= 0)) {
    return invalid(fmt::format("arm '{}' has weight {}; weights must be >= 0", arm.name,
                               node["weight"].as<std::string>()));
  }
  return arm;
}

// `policy:` and `min_share:` of a split whose arms are parsed.
absl::Status ParseSplitPolicy(const YAML::Node& node, EndpointConfig& config) {
  auto invalid = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  const std::string policy = node["policy"] ? node["policy"].as<std::string>() : "weights";
  if (policy != "weights" && policy != "thompson") {
    return invalid(fmt::format("policy '{}' is not weights or thompson", policy));
  }
  config.split_policy = policy == "thompson" ? SplitPolicy::kThompson : SplitPolicy::kWeights;
  if (node["min_share"]) {
    if (config.split_policy != SplitPolicy::kThompson) {
      return invalid("min_share belongs to policy: thompson");
    }
    config.min_share = node["min_share"].as<double>();
  }
  const double arms = static_cast<double>(config.arms.size());
  if (!(config.min_share >= 0 && config.min_share * arms <= 1)) {
    return invalid(fmt::format("min_share {} must be in [0, 1 / {} arms]", config.min_share,
                               config.arms.size()));
  }
  if (config.split_policy == SplitPolicy::kThompson && !config.feedback) {
    return invalid("policy: thompson routes by feedback rewards: it needs feedback on");
  }
  return absl::OkStatus();
}

// plan: split -- its arms (unique names, weights >= 0 summing to more than
// 0) and at most one sticky key.
absl::Status ParseSplit(const YAML::Node& node, EndpointConfig& config) {
  auto invalid = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    if (!kSplitKeys.contains(key)) {
      return invalid(fmt::format(
          "'{}' does not belong to plan split; known: arms, sticky_key, sticky_header, salt, "
          "policy, min_share, shadow, feedback",
          key));
    }
  }
  if (!node["arms"] || !node["arms"].IsSequence() || node["arms"].size() == 0) {
    return invalid(
        "plan split needs arms: a list of {name, model, version or label, weight} or "
        "{name, endpoint, weight}");
  }
  double total = 0;
  std::set<std::string> names;
  for (size_t i = 0; i < node["arms"].size(); ++i) {
    absl::StatusOr<SplitArmConfig> arm = ParseArm(node["arms"][i], i);
    if (!arm.ok()) return arm.status();
    if (!names.insert(arm->name).second) {
      return invalid(
          fmt::format("arm name '{}' is used twice; arm names must be unique", arm->name));
    }
    total += arm->weight;
    config.arms.push_back(*std::move(arm));
  }
  if (!(total > 0)) return invalid("the arms' weights must sum to more than 0");
  if (node["sticky_key"]) config.sticky_key = node["sticky_key"].as<std::string>();
  if (node["sticky_header"]) config.sticky_header = node["sticky_header"].as<std::string>();
  absl::AsciiStrToLower(&config.sticky_header);
  if (!config.sticky_key.empty() && !config.sticky_header.empty()) {
    return invalid("give sticky_key or sticky_header, not both");
  }
  if (node["sticky_header"] && !config.sticky_header.starts_with("x-")) {
    return invalid("sticky_header must be an application header starting with x-");
  }
  config.salt = node["salt"] ? node["salt"].as<std::string>() : config.name;
  config.table.clear();
  config.feedback = FeedbackConfig{};  // on unless `feedback: false`
  if (absl::Status s = ParseExperimentKeys(node, config); !s.ok()) return s;
  return ParseSplitPolicy(node, config);
}

// What each plan needs and refuses.
absl::Status CheckPlan(const YAML::Node& node, EndpointConfig& config) {
  auto invalid = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  if (config.plan == PlanKind::kHybrid && (config.model.empty() || config.key.empty())) {
    return invalid("plan hybrid needs model and key");
  }
  if (config.plan == PlanKind::kStatic && (!config.model.empty() || node["cache"])) {
    return invalid("model and cache belong to plans hybrid and dynamic");
  }
  if (config.plan == PlanKind::kDynamic) {
    if (config.model.empty()) return invalid("plan dynamic needs model");
    if (node["table"] || node["store"] || node["default"] || node["on_store_error"] ||
        node["table_in_memory"]) {
      return invalid(
          "plan dynamic has no table: table, store, default, on_store_error and "
          "table_in_memory belong to plans static and hybrid");
    }
    config.table.clear();
    // The cache is what a dynamic plan adds to the model's own endpoint:
    // off unless asked for.
    if (!node["cache"]) config.cache_max_bytes = 0;
  }
  if (config.store != "rocksdb" && config.store != "redis") {
    return invalid(fmt::format("store '{}' is not rocksdb or redis", config.store));
  }
  if (config.plan != PlanKind::kDynamic) {
    if (absl::Status s = store::ValidateTableName(config.table); !s.ok()) {
      return invalid(std::string(s.message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<EndpointConfig> ParseOne(const std::string& name, const YAML::Node& node) {
  auto invalid = [&](std::string_view what) {
    return absl::InvalidArgumentError(fmt::format("endpoint '{}': {}", name, what));
  };
  if (!node.IsMap()) return invalid("must be a map of plan, table, store, key, default, ...");
  EndpointConfig config;
  config.name = name;
  config.table = name;
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    if (!kEndpointKeys.contains(key)) {
      return invalid(
          fmt::format("unknown key '{}'; known keys: plan, table, store, key, "
                      "default, on_store_error, model, cache, table_in_memory, shadow, "
                      "feedback (plan split: arms, sticky_key, sticky_header, salt)",
                      key));
    }
  }
  try {
    if (node["plan"]) {
      const std::string plan = node["plan"].as<std::string>();
      const std::optional<PlanKind> kind = ParsePlanKind(plan);
      if (!kind) {
        return invalid(
            fmt::format("plan '{}' is not supported; use static, hybrid, dynamic or split", plan));
      }
      config.plan = *kind;
    }
    if (node["table"]) config.table = node["table"].as<std::string>();
    if (node["store"]) config.store = node["store"].as<std::string>();
    if (node["key"]) {
      if (!node["key"].IsSequence()) return invalid("key must be a list of column names");
      config.key = node["key"].as<std::vector<std::string>>();
    }
    if (node["default"]) config.default_value = node["default"].as<double>();
    if (node["on_store_error"]) {
      const std::string policy = node["on_store_error"].as<std::string>();
      if (policy != "default" && policy != "unavailable") {
        return invalid(fmt::format("on_store_error '{}' is not default or unavailable", policy));
      }
      config.default_when_unavailable = policy == "default";
    }
    if (node["model"]) config.model = node["model"].as<std::string>();
    if (node["table_in_memory"]) {
      const std::optional<size_t> bytes = ParseSize(node["table_in_memory"].as<std::string>());
      if (!bytes) return invalid("table_in_memory must be a size such as 64MiB, or 0");
      config.table_in_memory_bytes = *bytes;
    }
    if (absl::Status s = ParseCache(node["cache"], config); !s.ok()) {
      return invalid(std::string(s.message()));
    }
  } catch (const YAML::Exception& e) {
    return invalid(fmt::format("{} (line {})", e.msg, e.mark.line + 1));
  }
  if (absl::Status s = CheckPlan(node, config); !s.ok()) return invalid(std::string(s.message()));
  if (absl::Status s = ParseExperimentKeys(node, config); !s.ok()) {
    return invalid(std::string(s.message()));
  }
  return config;
}

absl::StatusOr<EndpointConfig> ParseSplitEndpoint(const std::string& name, const YAML::Node& node) {
  EndpointConfig config;
  config.name = name;
  config.plan = PlanKind::kSplit;
  config.cache_max_bytes = 0;
  try {
    if (absl::Status s = ParseSplit(node, config); !s.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("endpoint '{}': {}", name, std::string(s.message())));
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        fmt::format("endpoint '{}': {} (line {})", name, e.msg, e.mark.line + 1));
  }
  return config;
}

// Depth-first from `name`: appends it to `ordered` after every endpoint its
// arms name. `path` is the chain being visited; reaching a name on it is a
// cycle.
absl::Status VisitArms(const std::string& name,
                       const std::map<std::string, const EndpointConfig*>& by_name,
                       std::vector<std::string>& path, std::set<std::string>& done,
                       std::vector<EndpointConfig>& ordered) {
  if (done.contains(name)) return absl::OkStatus();
  if (std::find(path.begin(), path.end(), name) != path.end()) {
    path.push_back(name);
    const auto first = std::find(path.begin(), path.end(), name);
    return absl::InvalidArgumentError(
        fmt::format("endpoint '{}': its arms lead back to it: {}; a split cannot route to itself",
                    name, fmt::join(first, path.end(), " -> ")));
  }
  const EndpointConfig& config = *by_name.at(name);
  path.push_back(name);
  for (const SplitArmConfig& arm : config.arms) {
    if (arm.endpoint.empty()) continue;
    if (!by_name.contains(arm.endpoint)) {
      return absl::InvalidArgumentError(
          fmt::format("endpoint '{}': arm '{}' names the endpoint '{}', which the file does not "
                      "declare",
                      name, arm.name, arm.endpoint));
    }
    if (absl::Status s = VisitArms(arm.endpoint, by_name, path, done, ordered); !s.ok()) return s;
  }
  path.pop_back();
  done.insert(name);
  ordered.push_back(config);
  return absl::OkStatus();
}

// `configs` with every endpoint after the endpoints its arms name (else in
// file order); INVALID_ARGUMENT for an arm naming an unknown endpoint or a
// cycle of arms.
absl::StatusOr<std::vector<EndpointConfig>> OrderByArms(std::vector<EndpointConfig> configs) {
  std::map<std::string, const EndpointConfig*> by_name;
  for (const EndpointConfig& config : configs) by_name[config.name] = &config;
  std::vector<EndpointConfig> ordered;
  std::set<std::string> done;
  for (const EndpointConfig& config : configs) {
    std::vector<std::string> path;
    if (absl::Status s = VisitArms(config.name, by_name, path, done, ordered); !s.ok()) return s;
  }
  return ordered;
}

}  // namespace

absl::StatusOr<std::vector<EndpointConfig>> ParseEndpointConfigs(std::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(fmt::format("{} (line {})", e.msg, e.mark.line + 1));
  }
  std::vector<EndpointConfig> configs;
  if (!root || root.IsNull()) return configs;
  if (!root.IsMap() ||
      (root["endpoints"] && !root["endpoints"].IsMap() && !root["endpoints"].IsNull())) {
    return absl::InvalidArgumentError("expected a map with an 'endpoints:' map of names");
  }
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    if (key != "endpoints") {
      return absl::InvalidArgumentError(
          fmt::format("unknown top-level key '{}'; known: endpoints", key));
    }
  }
  if (!root["endpoints"] || root["endpoints"].IsNull()) return configs;
  for (const auto& entry : root["endpoints"]) {
    const std::string name = entry.first.as<std::string>();
    const bool split = entry.second.IsMap() && entry.second["plan"] &&
                       entry.second["plan"].as<std::string>("") == "split";
    absl::StatusOr<EndpointConfig> config =
        split ? ParseSplitEndpoint(name, entry.second) : ParseOne(name, entry.second);
    if (!config.ok()) return config.status();
    configs.push_back(*std::move(config));
  }
  return OrderByArms(std::move(configs));
}

absl::StatusOr<std::vector<EndpointConfig>> ReadEndpointConfigs(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    return absl::NotFoundError(fmt::format("cannot read endpoints file {}", file.string()));
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<std::vector<EndpointConfig>> configs = ParseEndpointConfigs(text.str());
  if (!configs.ok()) {
    return absl::Status(
        configs.status().code(),
        fmt::format("{}: {}", file.string(), std::string(configs.status().message())));
  }
  return configs;
}

}  // namespace strata::serving
