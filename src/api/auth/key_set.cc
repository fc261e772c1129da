#include "api/auth/key_set.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "fmt/format.h"
#include "yaml-cpp/yaml.h"

namespace strata::api::auth {
namespace {

constexpr std::string_view kScopeNames[] = {"infer", "metadata", "control", "metrics"};

absl::Status KeyError(size_t index, const std::string& id, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("keys file: key {} ({}): {}", index + 1,
                                                id.empty() ? "no id" : "id '" + id + "'", what));
}

absl::StatusOr<std::vector<std::string>> StringList(const YAML::Node& node) {
  std::vector<std::string> out;
  if (!node.IsSequence()) return absl::InvalidArgumentError("must be a list");
  for (const YAML::Node& item : node) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      return absl::InvalidArgumentError("must be a list of names");
    }
    out.push_back(item.Scalar());
  }
  return out;
}

// Checks and copies scopes, models and expiry of the key in `node`.
absl::Status ReadGrants(const YAML::Node& node, ApiKey& key) {
  absl::StatusOr<std::vector<std::string>> scopes = StringList(node["scopes"]);
  if (!scopes.ok())
    return absl::InvalidArgumentError("scopes: " + std::string(scopes.status().message()));
  for (const std::string& name : *scopes) {
    const std::optional<Scope> scope = ParseScope(name);
    if (!scope) {
      return absl::InvalidArgumentError(
          fmt::format("scopes: unknown scope '{}'; use infer, metadata, control or metrics", name));
    }
    key.scopes.push_back(*scope);
  }
  absl::StatusOr<std::vector<std::string>> models = StringList(node["models"]);
  if (!models.ok()) {
    return absl::InvalidArgumentError("models: " + std::string(models.status().message()) +
                                      " (\"*\" for every model)");
  }
  key.models = *std::move(models);
  if (const YAML::Node expires = node["expires"]; expires && !expires.IsNull()) {
    key.expires = expires.IsScalar() ? ParseUtcTime(expires.Scalar()) : std::nullopt;
    if (!key.expires) {
      return absl::InvalidArgumentError("expires: use a UTC time such as 2027-06-30T00:00:00Z");
    }
  }
  return absl::OkStatus();
}

// {rows_per_second: R, burst: B}; nullopt unless R >= 0 and B >= 1.
std::optional<RateLimit> ReadRateLimit(const YAML::Node& limit) {
  RateLimit parsed;
  if (!limit.IsMap() || !limit["rows_per_second"] || !limit["burst"] ||
      !YAML::convert<double>::decode(limit["rows_per_second"], parsed.rows_per_second) ||
      !YAML::convert<double>::decode(limit["burst"], parsed.burst) || parsed.rows_per_second < 0 ||
      parsed.burst < 1) {
    return std::nullopt;
  }
  return parsed;
}

absl::StatusOr<ApiKey> ReadKey(const YAML::Node& node, size_t index) {
  ApiKey key;
  if (!node.IsMap()) return KeyError(index, "", "must be a map");
  auto text = [&node](const char* field) {
    const YAML::Node value = node[field];
    return value && value.IsScalar() ? value.Scalar() : std::string();
  };
  key.id = text("id");
  key.tenant = text("tenant");
  if (key.id.empty()) return KeyError(index, "", "id is missing");
  if (key.tenant.empty()) return KeyError(index, key.id, "tenant is missing");
  const std::optional<Digest> digest = ParseDigestHex(text("secret_sha256"));
  if (!digest) {
    return KeyError(index, key.id,
                    "secret_sha256 must be the SHA-256 of the secret as 64 hex digits "
                    "(strata keys hash)");
  }
  key.secret_sha256 = *digest;
  if (absl::Status s = ReadGrants(node, key); !s.ok()) {
    return KeyError(index, key.id, std::string(s.message()));
  }
  if (const YAML::Node rate = node["rate"]; rate && !rate.IsNull()) {
    key.rate = ReadRateLimit(rate);
    if (!key.rate) {
      return KeyError(index, key.id, "rate needs rows_per_second (>= 0) and burst (>= 1)");
    }
  }
  return key;
}

absl::Status ReadLimits(const YAML::Node& tenants, KeySet& set) {
  if (!tenants || tenants.IsNull()) return absl::OkStatus();
  if (!tenants.IsMap()) return absl::InvalidArgumentError("keys file: tenants must be a map");
  for (const auto& entry : tenants) {
    const std::string name = entry.first.as<std::string>();
    const std::optional<RateLimit> parsed = ReadRateLimit(entry.second);
    if (!parsed) {
      return absl::InvalidArgumentError(fmt::format(
          "keys file: tenant '{}' needs rows_per_second (>= 0) and burst (>= 1)", name));
    }
    set.limits[name] = *parsed;
  }
  return absl::OkStatus();
}

absl::StatusOr<KeySet> ParseNode(const YAML::Node& root) {
  KeySet set;
  if (!root.IsMap()) return absl::InvalidArgumentError("keys file: must be a map with `keys:`");
  const YAML::Node keys = root["keys"];
  if (keys && !keys.IsNull() && !keys.IsSequence()) {
    return absl::InvalidArgumentError("keys file: keys must be a list");
  }
  std::set<std::string> ids;
  for (size_t i = 0; keys && keys.IsSequence() && i < keys.size(); ++i) {
    absl::StatusOr<ApiKey> key = ReadKey(keys[i], i);
    if (!key.ok()) return key.status();
    if (!ids.insert(key->id).second) return KeyError(i, key->id, "the id is used twice");
    set.keys.push_back(*std::move(key));
  }
  if (absl::Status s = ReadLimits(root["tenants"], set); !s.ok()) return s;
  return set;
}

}  // namespace

std::string_view ScopeName(Scope scope) { return kScopeNames[static_cast<int>(scope)]; }

std::optional<Scope> ParseScope(std::string_view name) {
  for (size_t i = 0; i < std::size(kScopeNames); ++i) {
    if (kScopeNames[i] == name) return static_cast<Scope>(i);
  }
  return std::nullopt;
}

bool ApiKey::HasScope(Scope scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

bool ApiKey::AllowsModel(std::string_view model) const {
  for (const std::string& allowed : models) {
    if (allowed == "*" || (model != "*" && allowed == model)) return true;
  }
  return false;
}

std::map<std::string, RateLimit> KeySet::KeyLimits() const {
  std::map<std::string, RateLimit> limits_by_key;
  for (const ApiKey& key : keys) {
    if (key.rate) limits_by_key[key.id] = *key.rate;
  }
  return limits_by_key;
}

absl::StatusOr<KeySet> ParseKeySet(std::string_view yaml_text) {
  try {
    return ParseNode(YAML::Load(std::string(yaml_text)));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(fmt::format("keys file: not YAML: {}", e.what()));
  }
}

std::optional<std::chrono::system_clock::time_point> ParseUtcTime(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, used = 0;
  const std::string s(text);
  const bool date_only = s.size() == 10 &&
                         std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &year, &month, &day, &used) == 3 &&
                         used == 10;
  const bool full = !date_only && s.size() == 20 &&
                    std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &year, &month, &day, &hour,
                                &minute, &second, &used) == 6 &&
                    used == 20;
  if (!date_only && !full) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  tm parts{};
  parts.tm_year = year - 1900;
  parts.tm_mon = month - 1;
  parts.tm_mday = day;
  parts.tm_hour = hour;
  parts.tm_min = minute;
  parts.tm_sec = second;
  return std::chrono::system_clock::from_time_t(timegm(&parts));
}

}  // namespace strata::api::auth
