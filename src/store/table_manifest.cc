#include "store/table_manifest.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>

#include "fmt/format.h"
#include "yaml-cpp/yaml.h"

namespace strata::store {

size_t OutputColumn::ElementsPerRow() const {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

size_t OutputColumn::BytesPerRow() const { return ElementsPerRow() * core::ElementSize(dtype); }

size_t TableManifest::ValueSize() const {
  size_t n = 0;
  for (const OutputColumn& o : outputs) n += o.BytesPerRow();
  return n;
}

double OutputStats::Quantile(double q) const {
  if (quantiles.empty()) return 0;
  if (q <= quantiles.front().first) return quantiles.front().second;
  for (size_t i = 1; i < quantiles.size(); ++i) {
    const auto& [q1, v1] = quantiles[i];
    if (q <= q1) {
      const auto& [q0, v0] = quantiles[i - 1];
      return q1 == q0 ? v1 : v0 + (v1 - v0) * (q - q0) / (q1 - q0);
    }
  }
  return quantiles.back().second;
}

std::string UtcNow() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

namespace {

// Doubles as YAML scalars that round-trip; YAML's .nan/.inf for the rest.
std::string Num(double v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  return fmt::format("{}", v);
}

void EmitStats(YAML::Emitter& out, const OutputStats& s) {
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << s.name;
  out << YAML::Key << "count" << YAML::Value << s.count;
  out << YAML::Key << "nan" << YAML::Value << s.nan;
  out << YAML::Key << "inf" << YAML::Value << s.inf;
  out << YAML::Key << "min" << YAML::Value << Num(s.min);
  out << YAML::Key << "max" << YAML::Value << Num(s.max);
  out << YAML::Key << "mean" << YAML::Value << Num(s.mean);
  out << YAML::Key << "quantiles" << YAML::Value << YAML::Flow << YAML::BeginMap;
  for (const auto& [q, v] : s.quantiles) {
    out << YAML::Key << Num(q) << YAML::Value << Num(v);
  }
  out << YAML::EndMap;
  if (!s.psi_edges.empty()) {
    out << YAML::Key << "psi_edges" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (double e : s.psi_edges) out << Num(e);
    out << YAML::EndSeq;
    out << YAML::Key << "psi_fractions" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (double f : s.psi_fractions) out << Num(f);
    out << YAML::EndSeq;
  }
  if (!s.classes.empty()) {
    out << YAML::Key << "classes" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (const auto& [c, n] : s.classes) out << YAML::Key << c << YAML::Value << n;
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
}

double ToDouble(const YAML::Node& node) {
  const std::string s = node.as<std::string>();
  if (s == ".nan" || s == ".NaN") return std::nan("");
  if (s == ".inf") return INFINITY;
  if (s == "-.inf") return -INFINITY;
  return node.as<double>();
}

absl::StatusOr<core::DataType> ParseDtype(const YAML::Node& node) {
  const std::string name = node.as<std::string>();
  std::optional<core::DataType> dtype = core::DataTypeFromName(name);
  if (!dtype) {
    return absl::DataLossError(fmt::format("unknown datatype '{}'", name));
  }
  return *dtype;
}

}  // namespace

std::string ManifestToYaml(const TableManifest& m) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "table" << YAML::Value << m.table;
  out << YAML::Key << "version" << YAML::Value << m.version;
  out << YAML::Key << "store" << YAML::Value << m.store;
  if (m.kind == TableKind::kFeatures) out << YAML::Key << "kind" << YAML::Value << "features";
  out << YAML::Key << "model" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "name"
      << YAML::Value << m.model_name << YAML::Key << "version" << YAML::Value << m.model_version
      << YAML::EndMap;
  out << YAML::Key << "key" << YAML::Value << YAML::BeginSeq;
  for (const KeyColumn& c : m.key.columns()) {
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << c.name << YAML::Key
        << "datatype" << YAML::Value << std::string(core::DataTypeName(c.dtype)) << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "outputs" << YAML::Value << YAML::BeginSeq;
  for (const OutputColumn& o : m.outputs) {
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << o.name << YAML::Key
        << "datatype" << YAML::Value << std::string(core::DataTypeName(o.dtype)) << YAML::Key
        << "shape" << YAML::Value << YAML::Flow << o.shape << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "rows" << YAML::Value << m.rows;
  out << YAML::Key << "created" << YAML::Value << m.created;
  out << YAML::Key << "checksum" << YAML::Value << m.checksum;
  out << YAML::Key << "job" << YAML::Value << m.job;
  if (!m.feature_tables.empty()) {
    out << YAML::Key << "feature_tables" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (const auto& [table, version] : m.feature_tables) {
      out << YAML::Key << table << YAML::Value << version;
    }
    out << YAML::EndMap;
  }
  const VerificationReport& v = m.verification;
  out << YAML::Key << "verification" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "passed" << YAML::Value << v.passed;
  out << YAML::Key << "rows" << YAML::Value << v.rows;
  out << YAML::Key << "previous_version" << YAML::Value << v.previous_version;
  if (v.psi) out << YAML::Key << "psi" << YAML::Value << Num(*v.psi);
  out << YAML::Key << "outputs" << YAML::Value << YAML::BeginSeq;
  for (const OutputStats& s : v.outputs) EmitStats(out, s);
  out << YAML::EndSeq;
  out << YAML::Key << "checks" << YAML::Value << YAML::BeginSeq;
  for (const CheckResult& c : v.checks) {
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << c.name << YAML::Key
        << "passed" << YAML::Value << c.passed << YAML::Key << "detail" << YAML::Value << c.detail
        << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

namespace {

// The helpers below throw YAML::Exception on a malformed node; ParseManifest
// turns it into DATA_LOSS.

absl::StatusOr<KeySchema> ParseKey(const YAML::Node& node) {
  std::vector<KeyColumn> key;
  for (const YAML::Node& c : node) {
    absl::StatusOr<core::DataType> dtype = ParseDtype(c["datatype"]);
    if (!dtype.ok()) return dtype.status();
    key.push_back({c["name"].as<std::string>(), *dtype});
  }
  if (key.empty()) return absl::DataLossError("the manifest names no key columns");
  return KeySchema(std::move(key));
}

// Prediction tables hold numbers; feature tables may hold strings too.
absl::StatusOr<std::vector<OutputColumn>> ParseOutputs(const YAML::Node& node, TableKind kind) {
  std::vector<OutputColumn> outputs;
  for (const YAML::Node& o : node) {
    absl::StatusOr<core::DataType> dtype = ParseDtype(o["datatype"]);
    if (!dtype.ok()) return dtype.status();
    if (*dtype == core::DataType::kBytes && kind != TableKind::kFeatures) {
      return absl::DataLossError("a table output cannot be BYTES");
    }
    outputs.push_back({o["name"].as<std::string>(), *dtype, o["shape"].as<core::Shape>()});
  }
  if (outputs.empty()) return absl::DataLossError("the manifest names no outputs");
  return outputs;
}

OutputStats ParseOutputStats(const YAML::Node& s) {
  OutputStats stats;
  stats.name = s["name"].as<std::string>();
  stats.count = s["count"].as<int64_t>();
  stats.nan = s["nan"].as<int64_t>();
  stats.inf = s["inf"].as<int64_t>();
  stats.min = ToDouble(s["min"]);
  stats.max = ToDouble(s["max"]);
  stats.mean = ToDouble(s["mean"]);
  for (const auto& q : s["quantiles"]) {
    stats.quantiles.emplace_back(ToDouble(q.first), ToDouble(q.second));
  }
  std::sort(stats.quantiles.begin(), stats.quantiles.end());
  for (const YAML::Node& e : s["psi_edges"]) stats.psi_edges.push_back(ToDouble(e));
  for (const YAML::Node& f : s["psi_fractions"]) stats.psi_fractions.push_back(ToDouble(f));
  if (s["classes"]) {
    for (const auto& c : s["classes"]) {
      stats.classes[c.first.as<int64_t>()] = c.second.as<int64_t>();
    }
  }
  return stats;
}

void ParseVerification(const YAML::Node& v, VerificationReport& report) {
  report.passed = v["passed"].as<bool>(true);
  report.rows = v["rows"].as<int64_t>(0);
  report.previous_version = v["previous_version"].as<int64_t>(0);
  if (v["psi"]) report.psi = ToDouble(v["psi"]);
  for (const YAML::Node& s : v["outputs"]) report.outputs.push_back(ParseOutputStats(s));
  for (const YAML::Node& c : v["checks"]) {
    report.checks.push_back(
        {c["name"].as<std::string>(), c["passed"].as<bool>(), c["detail"].as<std::string>("")});
  }
}

}  // namespace

absl::StatusOr<TableManifest> ParseManifest(std::string_view yaml) {
  TableManifest m;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap()) return absl::DataLossError("the manifest is not a YAML map");
    m.table = root["table"].as<std::string>();
    m.version = root["version"].as<int64_t>();
    m.store = root["store"].as<std::string>();
    const std::string kind = root["kind"].as<std::string>("predictions");
    if (kind != "predictions" && kind != "features") {
      return absl::DataLossError(fmt::format("unknown table kind '{}'", kind));
    }
    if (kind == "features") m.kind = TableKind::kFeatures;
    m.model_name = root["model"]["name"].as<std::string>();
    m.model_version = root["model"]["version"].as<int64_t>();
    absl::StatusOr<KeySchema> key = ParseKey(root["key"]);
    if (!key.ok()) return key.status();
    m.key = *std::move(key);
    absl::StatusOr<std::vector<OutputColumn>> outputs = ParseOutputs(root["outputs"], m.kind);
    if (!outputs.ok()) return outputs.status();
    m.outputs = *std::move(outputs);
    m.rows = root["rows"].as<int64_t>();
    m.created = root["created"].as<std::string>("");
    m.checksum = root["checksum"].as<std::string>("");
    m.job = root["job"].as<std::string>("");
    for (const auto& t : root["feature_tables"]) {
      m.feature_tables[t.first.as<std::string>()] = t.second.as<int64_t>();
    }
    if (const YAML::Node v = root["verification"]; v && v.IsMap()) {
      ParseVerification(v, m.verification);
    }
  } catch (const YAML::Exception& e) {
    return absl::DataLossError(fmt::format("the manifest is malformed: {}", e.what()));
  }
  return m;
}

}  // namespace strata::store
