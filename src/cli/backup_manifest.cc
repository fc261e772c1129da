#include "cli/backup_manifest.h"

#include "fmt/format.h"
#include "yaml-cpp/yaml.h"

namespace strata::cli {
namespace {

void EmitModels(YAML::Emitter& out, const std::vector<BackupModel>& models) {
  out << YAML::Key << "models" << YAML::Value << YAML::BeginSeq;
  for (const BackupModel& m : models) {
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << m.name << YAML::Key
        << "versions" << YAML::Value << YAML::Flow << m.versions;
    out << YAML::Key << "labels" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (const auto& [label, version] : m.labels)
      out << YAML::Key << label << YAML::Value << version;
    out << YAML::EndMap << YAML::Key << "default_version" << YAML::Value << m.default_version
        << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

void EmitTables(YAML::Emitter& out, const std::vector<BackupTable>& tables) {
  out << YAML::Key << "tables" << YAML::Value << YAML::BeginSeq;
  for (const BackupTable& t : tables) {
    out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << t.name << YAML::Key << "store"
        << YAML::Value << t.store << YAML::Key << "current" << YAML::Value << t.current << YAML::Key
        << "versions" << YAML::Value << YAML::BeginSeq;
    for (const BackupTableVersion& v : t.versions) {
      out << YAML::Flow << YAML::BeginMap << YAML::Key << "version" << YAML::Value << v.version
          << YAML::Key << "rows" << YAML::Value << v.rows << YAML::Key << "checksum" << YAML::Value
          << v.checksum << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

// Where the lifecycle's state is, and the place kept for what comes next.
void EmitLifecycle(YAML::Emitter& out) {
  out << YAML::Key << "lifecycle" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "labels_and_pins" << YAML::Value << "config.yaml";
  out << YAML::Comment(
      "models/<name>/config.yaml: version_labels, default_version. Labels and "
      "pins set "
      "through the control API are held in the server's memory only.");
  out << YAML::Key << "rollouts" << YAML::Value << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
  out << YAML::Comment(
      "reserved for the rollout controller's persisted state (none exists in "
      "format 1)");
  out << YAML::EndMap;
}

template <typename T>
T Get(const YAML::Node& node, const char* key, T fallback) {
  return node[key] ? node[key].as<T>() : fallback;
}

BackupTable ParseTable(const YAML::Node& t) {
  BackupTable table{.name = t["name"].as<std::string>(),
                    .store = t["store"].as<std::string>(),
                    .current = Get<int64_t>(t, "current", 0)};
  for (const YAML::Node& v : t["versions"]) {
    table.versions.push_back({.version = v["version"].as<int64_t>(),
                              .rows = v["rows"].as<int64_t>(),
                              .checksum = v["checksum"].as<std::string>()});
  }
  return table;
}

BackupModel ParseModel(const YAML::Node& m) {
  BackupModel model{.name = m["name"].as<std::string>()};
  if (m["versions"]) model.versions = m["versions"].as<std::vector<int64_t>>();
  if (m["labels"]) model.labels = m["labels"].as<std::map<std::string, int64_t>>();
  model.default_version = Get<int64_t>(m, "default_version", 0);
  return model;
}

}  // namespace

std::string BackupManifestToYaml(const BackupManifest& m) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "format" << YAML::Value << m.format;
  out << YAML::Key << "created" << YAML::Value << m.created;
  out << YAML::Key << "strata" << YAML::Value << m.strata_version;
  out << YAML::Key << "source" << YAML::Value << YAML::BeginMap << YAML::Key << "repository"
      << YAML::Value << m.repository << YAML::Key << "tables" << YAML::Value << m.tables
      << YAML::Key << "redis" << YAML::Value << m.redis << YAML::EndMap;
  EmitModels(out, m.models);
  EmitTables(out, m.tables_held);
  EmitLifecycle(out);
  out << YAML::Key << "files" << YAML::Value << YAML::BeginSeq;
  for (const BackupFile& f : m.files) {
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "path" << YAML::Value << f.path << YAML::Key
        << "size" << YAML::Value << f.size << YAML::Key << "sha256" << YAML::Value << f.sha256
        << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

absl::StatusOr<BackupManifest> ParseBackupManifest(std::string_view yaml) {
  BackupManifest m;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap()) return absl::DataLossError("MANIFEST.yaml is not a YAML map");
    m.format = root["format"].as<int>();
    if (m.format != kBackupFormat) {
      return absl::FailedPreconditionError(
          fmt::format("backup format {} is not one this strata reads (format "
                      "{}); restore it with the "
                      "strata that wrote it",
                      m.format, kBackupFormat));
    }
    m.created = Get<std::string>(root, "created", "");
    m.strata_version = Get<std::string>(root, "strata", "");
    m.repository = Get<std::string>(root["source"], "repository", "");
    m.tables = Get<std::string>(root["source"], "tables", "");
    m.redis = Get<std::string>(root["source"], "redis", "");
    for (const YAML::Node& model : root["models"]) m.models.push_back(ParseModel(model));
    for (const YAML::Node& table : root["tables"]) m.tables_held.push_back(ParseTable(table));
    for (const YAML::Node& f : root["files"]) {
      m.files.push_back({.path = f["path"].as<std::string>(),
                         .size = f["size"].as<uint64_t>(),
                         .sha256 = f["sha256"].as<std::string>()});
    }
  } catch (const YAML::Exception& e) {
    return absl::DataLossError(fmt::format("MANIFEST.yaml: {}", e.what()));
  }
  return m;
}

std::string Sha256Sums(const std::vector<BackupFile>& files, std::string_view manifest_sha256) {
  std::string text;
  for (const BackupFile& f : files) text += fmt::format("{}  {}\n", f.sha256, f.path);
  return text + fmt::format("{}  MANIFEST.yaml\n", manifest_sha256);
}

absl::StatusOr<std::map<std::string, std::string>> ParseSha256Sums(std::string_view text) {
  std::map<std::string, std::string> sums;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.empty()) continue;
    if (line.size() < 67 || line.substr(64, 2) != "  ") {
      return absl::DataLossError(
          fmt::format("SHA256SUMS line {} is not '<sha256>  <path>'", line_number));
    }
    sums[std::string(line.substr(66))] = std::string(line.substr(0, 64));
  }
  return sums;
}

}  // namespace strata::cli
