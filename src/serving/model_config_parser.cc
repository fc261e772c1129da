#include "serving/model_config_parser.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "core/status_macros.h"
#include "fmt/format.h"
#include "yaml-cpp/yaml.h"

namespace strata::serving {
namespace {

const std::set<std::string, std::less<>> kTopLevelKeys = {"name",
                                                          "backend",
                                                          "max_batch_size",
                                                          "inputs",
                                                          "outputs",
                                                          "parameters",
                                                          "instances",
                                                          "max_queue_size",
                                                          "default_timeout_us",
                                                          "dynamic_batching",
                                                          "version_policy",
                                                          "version_labels",
                                                          "default_version",
                                                          "warmup",
                                                          "memory_strategy",
                                                          "version_marker"};

absl::Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

absl::StatusOr<runtime::TensorSpec> ParseTensorSpec(const YAML::Node& node, std::string_view list,
                                                    size_t index) {
  const std::string where = fmt::format("{}[{}]", list, index);
  if (!node.IsMap()) {
    return Invalid(
        fmt::format("{} must be a map like {{name: x, datatype: FP32, shape: [-1, 4]}}", where));
  }
  runtime::TensorSpec spec;
  if (!node["name"] || !node["name"].IsScalar() || node["name"].as<std::string>().empty()) {
    return Invalid(fmt::format("{} needs a non-empty 'name'", where));
  }
  spec.name = node["name"].as<std::string>();
  if (!node["datatype"] || !node["datatype"].IsScalar()) {
    return Invalid(fmt::format("{} ('{}') needs a 'datatype' such as FP32", where, spec.name));
  }
  const std::string dtype = node["datatype"].as<std::string>();
  std::optional<core::DataType> parsed = core::DataTypeFromName(dtype);
  if (!parsed) {
    return Invalid(
        fmt::format("{} ('{}') has unknown datatype '{}'; use one of BOOL, UINT8, UINT16, "
                    "UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, BF16, FP32, FP64, "
                    "BYTES",
                    where, spec.name, dtype));
  }
  spec.dtype = *parsed;
  if (!node["shape"] || !node["shape"].IsSequence()) {
    return Invalid(fmt::format("{} ('{}') needs a 'shape' list, -1 for variable dimensions", where,
                               spec.name));
  }
  for (const YAML::Node& dim : node["shape"]) {
    const auto value = dim.as<int64_t>();
    if (value < -1) {
      return Invalid(
          fmt::format("{} ('{}') has dimension {}; use -1 or >= 0", where, spec.name, value));
    }
    spec.shape.push_back(value);
  }
  if (const YAML::Node labels = node["label_filename"]; labels) {
    const std::string file = labels.IsScalar() ? labels.as<std::string>() : "";
    if (list != "outputs") {
      return Invalid(
          fmt::format("{} ('{}'): label_filename applies to outputs only", where, spec.name));
    }
    if (file.empty() || std::filesystem::path(file).is_absolute() ||
        file.find("..") != std::string::npos) {
      return Invalid(
          fmt::format("{} ('{}'): label_filename must name a file in the model's "
                      "directory, e.g. labels.txt",
                      where, spec.name));
    }
    spec.label_filename = file;
  }
  return spec;
}

absl::StatusOr<std::vector<runtime::TensorSpec>> ParseTensorList(const YAML::Node& node,
                                                                 std::string_view list) {
  if (!node || !node.IsSequence() || node.size() == 0) {
    return Invalid(fmt::format("'{}' must be a non-empty list of tensors", list));
  }
  std::vector<runtime::TensorSpec> specs;
  std::set<std::string, std::less<>> names;
  for (size_t i = 0; i < node.size(); ++i) {
    STRATA_ASSIGN_OR_RETURN(runtime::TensorSpec spec, ParseTensorSpec(node[i], list, i));
    if (!names.insert(spec.name).second) {
      return Invalid(fmt::format("'{}' names '{}' twice", list, spec.name));
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

absl::Status CheckBatchDimension(const runtime::ModelConfig& config) {
  if (config.max_batch_size == 0) return absl::OkStatus();
  for (const auto* list : {&config.inputs, &config.outputs}) {
    for (const runtime::TensorSpec& spec : *list) {
      if (spec.shape.empty() || spec.shape[0] != -1) {
        return Invalid(
            fmt::format("tensor '{}' must start with the batch dimension -1 because "
                        "max_batch_size is {}",
                        spec.name, config.max_batch_size));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> NonNegative(const YAML::Node& node, std::string_view key, int64_t fallback,
                                    int64_t minimum = 0) {
  if (!node[std::string(key)]) return fallback;
  const auto value = node[std::string(key)].as<int64_t>();
  if (value < minimum) {
    return Invalid(fmt::format("'{}' must be >= {}, got {}", key, minimum, value));
  }
  return value;
}

absl::Status ParsePreferredSizes(const YAML::Node& batching, int64_t max_batch_size,
                                 runtime::SchedulingConfig& scheduling) {
  if (const YAML::Node sizes = batching["preferred_batch_sizes"]; sizes) {
    if (!sizes.IsSequence()) {
      return Invalid("'preferred_batch_sizes' must be a list of integers");
    }
    for (const YAML::Node& size : sizes) {
      const auto value = size.as<int64_t>();
      if (value < 1 || value > max_batch_size) {
        return Invalid(
            fmt::format("preferred batch size {} must be between 1 and max_batch_size {}", value,
                        max_batch_size));
      }
      scheduling.preferred_batch_sizes.push_back(value);
    }
    std::sort(scheduling.preferred_batch_sizes.begin(), scheduling.preferred_batch_sizes.end());
  }
  return absl::OkStatus();
}

// The `dynamic_batching` map: a fixed delay (max_queue_delay_us,
// preferred_batch_sizes) or a latency objective (latency_objective_us).
absl::Status ParseDynamicBatching(const YAML::Node& batching, int64_t max_batch_size,
                                  runtime::SchedulingConfig& scheduling) {
  if (!batching.IsMap()) {
    return Invalid(
        "'dynamic_batching' must be a map, e.g. {max_queue_delay_us: 200} or "
        "{latency_objective_us: 10000}");
  }
  if (max_batch_size == 0) {
    return Invalid("'dynamic_batching' needs max_batch_size > 0");
  }
  for (const auto& entry : batching) {
    const std::string key = entry.first.as<std::string>();
    if (key != "max_queue_delay_us" && key != "preferred_batch_sizes" &&
        key != "latency_objective_us") {
      return Invalid(
          fmt::format("unknown key 'dynamic_batching.{}'; known keys: max_queue_delay_us, "
                      "preferred_batch_sizes, latency_objective_us",
                      key));
    }
  }
  scheduling.batching = true;
  STRATA_ASSIGN_OR_RETURN(scheduling.latency_objective_us,
                          NonNegative(batching, "latency_objective_us", 0, 1));
  if (scheduling.latency_objective_us > 0 &&
      (batching["max_queue_delay_us"] || batching["preferred_batch_sizes"])) {
    return Invalid(
        "'dynamic_batching.latency_objective_us' tunes the batch size and queue delay itself; "
        "it cannot be combined with max_queue_delay_us or preferred_batch_sizes");
  }
  STRATA_ASSIGN_OR_RETURN(scheduling.max_queue_delay_us,
                          NonNegative(batching, "max_queue_delay_us", 0));
  return ParsePreferredSizes(batching, max_batch_size, scheduling);
}

absl::StatusOr<runtime::SchedulingConfig> ParseScheduling(const YAML::Node& root,
                                                          int64_t max_batch_size) {
  runtime::SchedulingConfig scheduling;
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  STRATA_ASSIGN_OR_RETURN(int64_t instances, NonNegative(root, "instances", cores, 1));
  scheduling.instances = static_cast<int>(instances);
  STRATA_ASSIGN_OR_RETURN(scheduling.max_queue_size, NonNegative(root, "max_queue_size", 1024, 1));
  STRATA_ASSIGN_OR_RETURN(scheduling.default_timeout_us,
                          NonNegative(root, "default_timeout_us", 0));
  const YAML::Node batching = root["dynamic_batching"];
  if (!batching) return scheduling;
  STRATA_RETURN_IF_ERROR(ParseDynamicBatching(batching, max_batch_size, scheduling));
  return scheduling;
}

absl::Status ParseVersionPolicy(const YAML::Node& policy, runtime::LifecycleConfig& lifecycle) {
  using Policy = runtime::LifecycleConfig::Policy;
  const char* kHelp = "'version_policy' must be 'all', {latest: N} or {specific: [1, 3]}";
  if (policy.IsScalar() && policy.as<std::string>() == "all") {
    lifecycle.policy = Policy::kAll;
  } else if (policy.IsMap() && policy.size() == 1 && policy["latest"]) {
    lifecycle.policy = Policy::kLatest;
    lifecycle.latest = policy["latest"].as<int64_t>();
    if (lifecycle.latest < 1) return Invalid("'version_policy.latest' must be >= 1");
  } else if (policy.IsMap() && policy.size() == 1 && policy["specific"] &&
             policy["specific"].IsSequence()) {
    lifecycle.policy = Policy::kSpecific;
    for (const YAML::Node& v : policy["specific"]) {
      lifecycle.specific.push_back(v.as<int64_t>());
    }
  } else {
    return Invalid(kHelp);
  }
  return absl::OkStatus();
}

absl::StatusOr<runtime::LifecycleConfig> ParseLifecycle(const YAML::Node& root) {
  runtime::LifecycleConfig lifecycle;
  if (const YAML::Node policy = root["version_policy"]; policy) {
    STRATA_RETURN_IF_ERROR(ParseVersionPolicy(policy, lifecycle));
  }
  if (const YAML::Node labels = root["version_labels"]; labels) {
    if (!labels.IsMap()) return Invalid("'version_labels' must map names to versions");
    for (const auto& entry : labels) {
      const std::string label = entry.first.as<std::string>();
      if (label.empty() || std::isdigit(static_cast<unsigned char>(label[0]))) {
        return Invalid(fmt::format(
            "version label '{}' must start with a letter (digits name versions)", label));
      }
      lifecycle.labels[label] = entry.second.as<int64_t>();
    }
  }
  STRATA_ASSIGN_OR_RETURN(lifecycle.default_version, NonNegative(root, "default_version", 0));
  if (const YAML::Node warmup = root["warmup"]; warmup) {
    if (!warmup.IsMap()) {
      return Invalid("'warmup' must be {samples: FILE} or {generate: zeros|random, count: N}");
    }
    if (warmup["samples"]) lifecycle.warmup_samples = warmup["samples"].as<std::string>();
    if (warmup["generate"]) {
      lifecycle.warmup_generate = warmup["generate"].as<std::string>();
      if (lifecycle.warmup_generate != "zeros" && lifecycle.warmup_generate != "random") {
        return Invalid("'warmup.generate' must be zeros or random");
      }
    }
    STRATA_ASSIGN_OR_RETURN(lifecycle.warmup_count, NonNegative(warmup, "count", 1, 1));
  }
  if (const YAML::Node strategy = root["memory_strategy"]; strategy) {
    const std::string value = strategy.as<std::string>();
    if (value != "availability" && value != "resource") {
      return Invalid(
          fmt::format("'memory_strategy' must be availability (load new, then unload old) "
                      "or resource (unload old, then load new), got '{}'",
                      value));
    }
    lifecycle.availability_preserving = value == "availability";
  }
  if (root["version_marker"]) {
    lifecycle.version_marker = root["version_marker"].as<std::string>();
  }
  return lifecycle;
}

absl::StatusOr<runtime::ModelConfig> ParseRoot(const YAML::Node& root, const std::string& name) {
  if (!root.IsMap()) return Invalid("config.yaml must be a YAML map");
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    if (!kTopLevelKeys.contains(key)) {
      return Invalid(
          fmt::format("unknown key '{}'; known keys: name, backend, max_batch_size, "
                      "inputs, outputs, parameters, instances, max_queue_size, "
                      "default_timeout_us, dynamic_batching, version_policy, "
                      "version_labels, default_version, warmup, memory_strategy, "
                      "version_marker",
                      key));
    }
  }
  runtime::ModelConfig config;
  config.name = name;
  if (root["name"] && root["name"].as<std::string>() != name) {
    return Invalid(fmt::format("name '{}' differs from the model's directory name '{}'",
                               root["name"].as<std::string>(), name));
  }
  if (!root["backend"] || !root["backend"].IsScalar()) {
    return Invalid("'backend' is required, e.g. 'backend: torchscript'");
  }
  config.backend = root["backend"].as<std::string>();
  if (root["max_batch_size"]) {
    config.max_batch_size = root["max_batch_size"].as<int64_t>();
    if (config.max_batch_size < 0) {
      return Invalid("'max_batch_size' must be >= 0");
    }
  }
  STRATA_ASSIGN_OR_RETURN(config.inputs, ParseTensorList(root["inputs"], "inputs"));
  STRATA_ASSIGN_OR_RETURN(config.outputs, ParseTensorList(root["outputs"], "outputs"));
  if (const YAML::Node params = root["parameters"]; params) {
    if (!params.IsMap()) return Invalid("'parameters' must be a map");
    for (const auto& entry : params) {
      if (!entry.second.IsScalar()) {
        return Invalid(
            fmt::format("parameter '{}' must be a scalar", entry.first.as<std::string>()));
      }
      config.parameters[entry.first.as<std::string>()] = entry.second.as<std::string>();
    }
  }
  STRATA_RETURN_IF_ERROR(CheckBatchDimension(config));
  STRATA_ASSIGN_OR_RETURN(config.scheduling, ParseScheduling(root, config.max_batch_size));
  STRATA_ASSIGN_OR_RETURN(config.lifecycle, ParseLifecycle(root));
  return config;
}

}  // namespace

absl::StatusOr<runtime::ModelConfig> ParseModelConfig(std::string_view yaml,
                                                      const std::string& name) {
  try {
    return ParseRoot(YAML::Load(std::string(yaml)), name);
  } catch (const YAML::Exception& e) {
    return Invalid(fmt::format("invalid YAML: {}", e.what()));
  }
}

namespace {

// Reads the labels files the outputs name, one label per line, from
// `model_dir`.
absl::Status ReadLabels(const std::filesystem::path& model_dir, runtime::ModelConfig& config) {
  for (runtime::TensorSpec& output : config.outputs) {
    if (output.label_filename.empty()) continue;
    const std::filesystem::path file = model_dir / output.label_filename;
    std::ifstream in(file);
    if (!in) {
      return absl::NotFoundError(
          fmt::format("output '{}': cannot read its labels file {}", output.name, file.string()));
    }
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      output.labels.push_back(std::move(line));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<runtime::ModelConfig> LoadModelConfig(const std::filesystem::path& path,
                                                     const std::string& name) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        fmt::format("cannot read {}: {}", path.string(), "file missing or unreadable"));
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<runtime::ModelConfig> config = ParseModelConfig(text.str(), name);
  if (config.ok()) {
    if (absl::Status labels = ReadLabels(path.parent_path(), *config); !labels.ok()) {
      config = labels;
    }
  }
  if (!config.ok()) {
    return absl::Status(
        config.status().code(),
        fmt::format("{}: {}", path.string(), std::string(config.status().message())));
  }
  return config;
}

}  // namespace strata::serving
