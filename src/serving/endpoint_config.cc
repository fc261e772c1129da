#include "serving/endpoint_config.h"

#include <fstream>
#include <set>
#include <sstream>

#include "fmt/format.h"
#include "store/table_store.h"
#include "yaml-cpp/yaml.h"

namespace strata::serving {
namespace {

const std::set<std::string, std::less<>> kEndpointKeys = {
    "plan", "table", "store", "key", "default", "on_store_error"};

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
      return invalid(fmt::format("unknown key '{}'; known keys: plan, table, store, key, "
                                 "default, on_store_error",
                                 key));
    }
  }
  try {
    if (node["plan"]) config.plan = node["plan"].as<std::string>();
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
        return invalid(fmt::format(
            "on_store_error '{}' is not default or unavailable", policy));
      }
      config.default_when_unavailable = policy == "default";
    }
  } catch (const YAML::Exception& e) {
    return invalid(fmt::format("{} (line {})", e.msg, e.mark.line + 1));
  }
  if (config.plan != "static") {
    return invalid(fmt::format("plan '{}' is not supported; use static", config.plan));
  }
  if (config.store != "rocksdb" && config.store != "redis") {
    return invalid(fmt::format("store '{}' is not rocksdb or redis", config.store));
  }
  if (absl::Status s = store::ValidateTableName(config.table); !s.ok()) {
    return invalid(std::string(s.message()));
  }
  return config;
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
  if (!root.IsMap() || (root["endpoints"] && !root["endpoints"].IsMap() &&
                        !root["endpoints"].IsNull())) {
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
    absl::StatusOr<EndpointConfig> config =
        ParseOne(entry.first.as<std::string>(), entry.second);
    if (!config.ok()) return config.status();
    configs.push_back(*std::move(config));
  }
  return configs;
}

absl::StatusOr<std::vector<EndpointConfig>> ReadEndpointConfigs(
    const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    return absl::NotFoundError(fmt::format("cannot read endpoints file {}", file.string()));
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<std::vector<EndpointConfig>> configs = ParseEndpointConfigs(text.str());
  if (!configs.ok()) {
    return absl::Status(configs.status().code(),
                        fmt::format("{}: {}", file.string(), std::string(configs.status().message())));
  }
  return configs;
}

}  // namespace strata::serving
