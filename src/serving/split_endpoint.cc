#include "serving/split_endpoint.h"

#include <algorithm>
#include <random>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "serving/model_repository.h"
#include "serving/server_metrics.h"

namespace strata::serving {
namespace {

constexpr std::string_view kArmHeader = "x-strata-arm";

const std::string* Header(const core::InferRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return &value;
  }
  return nullptr;
}

template <typename T>
absl::StatusOr<std::string> NumberText(const core::Tensor& t) {
  const std::span<const T> values = t.As<T>();
  if (values.empty()) return absl::InvalidArgumentError("the sticky column has no rows");
  return fmt::format("{}", values[0]);
}

// The first element of `column` as text: "42" whether it came as an
// integer or as the string "42", so a header and a column agree.
absl::StatusOr<std::string> FirstElementText(const core::Tensor& column) {
  if (column.shape.empty() || column.shape[0] < 1) {
    return absl::InvalidArgumentError(fmt::format("sticky column '{}' has no rows", column.name));
  }
  switch (column.dtype) {
    case core::DataType::kBytes: {
      std::vector<std::string_view> elements;
      if (absl::Status s = core::SplitBytesElements(column.data, elements); !s.ok()) return s;
      if (elements.empty()) break;
      return std::string(elements[0]);
    }
    case core::DataType::kInt64:
      return NumberText<int64_t>(column);
    case core::DataType::kInt32:
      return NumberText<int32_t>(column);
    case core::DataType::kUint64:
      return NumberText<uint64_t>(column);
    case core::DataType::kUint32:
      return NumberText<uint32_t>(column);
    case core::DataType::kFp64:
      return NumberText<double>(column);
    case core::DataType::kFp32:
      return NumberText<float>(column);
    default:
      break;
  }
  return absl::InvalidArgumentError(fmt::format(
      "sticky column '{}' must be BYTES, INT32, INT64, UINT32, UINT64, FP32 or FP64", column.name));
}

uint32_t RandomBucket() {
  thread_local std::mt19937 random(std::random_device{}());
  return std::uniform_int_distribution<uint32_t>(0, SplitAssignment::kBuckets - 1)(random);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SplitEndpoint>> SplitEndpoint::Create(SplitEndpointConfig config) {
  std::vector<double> weights;
  for (const SplitArm& arm : config.arms) weights.push_back(arm.weight);
  if (config.salt.empty()) config.salt = config.name;
  absl::StatusOr<SplitAssignment> assignment = SplitAssignment::Create(weights, config.salt);
  if (!assignment.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("endpoint '{}': {}", config.name, std::string(assignment.status().message())));
  }
  return std::unique_ptr<SplitEndpoint>(
      new SplitEndpoint(std::move(config), *std::move(assignment)));
}

SplitEndpoint::SplitEndpoint(SplitEndpointConfig config, SplitAssignment assignment)
    : config_(std::move(config)), assignment_(std::move(assignment)) {
  for (const SplitArm& arm : config_.arms) {
    HybridEndpointConfig dynamic{.name = config_.name,
                                 .model = arm.model,
                                 .table = "",
                                 .key = {},
                                 .cache_max_bytes = 0,
                                 .plan = PlanKind::kDynamic};
    arms_.push_back(std::make_unique<HybridEndpoint>(nullptr, std::move(dynamic)));
  }
}

void SplitEndpoint::Connect(const PlanServices& services) {
  metrics_ = services.metrics;
  models_ = services.models;
  // The arms' rows are not observed: the key log follows keyed plans.
  const PlanServices arm_services{.models = services.models, .metrics = services.metrics};
  for (const std::unique_ptr<HybridEndpoint>& arm : arms_) arm->Connect(arm_services);
}

EndpointDescription SplitEndpoint::Describe() const {
  EndpointDescription d = arms_.front()->Describe();  // inputs and outputs: the first arm's
  d.plan = PlanKind::kSplit;
  d.versions.clear();
  d.ready = models_ != nullptr;
  std::vector<std::string> not_ready;
  for (size_t i = 0; i < arms_.size() && models_ != nullptr; ++i) {
    const SplitArm& arm = config_.arms[i];
    absl::StatusOr<std::shared_ptr<const ServedModel>> served =
        models_->Find(arm.model, arm.version);
    if (served.ok() && (*served)->ready()) {
      d.versions.push_back((*served)->version);
      continue;
    }
    if (arm.weight == 0) continue;  // an arm without traffic does not hold readiness
    not_ready.push_back(
        fmt::format("arm '{}': {}", arm.name,
                    served.ok() ? (*served)->reason : std::string(served.status().message())));
  }
  if (!not_ready.empty()) {
    d.ready = false;
    d.reason = fmt::format("{}", fmt::join(not_ready, "; "));
  }
  return d;
}

absl::StatusOr<std::string> SplitEndpoint::StickyKey(const core::InferRequest& request) const {
  if (!config_.sticky_header.empty()) {
    const std::string* value = Header(request, config_.sticky_header);
    if (value == nullptr) {
      return absl::InvalidArgumentError(
          fmt::format("endpoint '{}' assigns arms by the header {}; the request has none",
                      config_.name, config_.sticky_header));
    }
    return *value;
  }
  auto column = std::find_if(request.inputs.begin(), request.inputs.end(),
                             [&](const core::Tensor& t) { return t.name == config_.sticky_key; });
  if (column == request.inputs.end()) {
    return absl::InvalidArgumentError(
        fmt::format("endpoint '{}' assigns arms by the input column '{}'; the request has none",
                    config_.name, config_.sticky_key));
  }
  return FirstElementText(*column);
}

absl::StatusOr<size_t> SplitEndpoint::ChooseArm(const core::InferRequest& request) const {
  if (const std::string* forced = Header(request, kArmHeader)) {
    for (size_t i = 0; i < config_.arms.size(); ++i) {
      if (config_.arms[i].name == *forced) return i;
    }
    std::vector<std::string> names;
    for (const SplitArm& arm : config_.arms) names.push_back(arm.name);
    return absl::InvalidArgumentError(fmt::format("endpoint '{}' has no arm '{}'; its arms: {}",
                                                  config_.name, *forced, fmt::join(names, ", ")));
  }
  if (config_.sticky_key.empty() && config_.sticky_header.empty()) {
    return assignment_.ArmOfBucket(RandomBucket());
  }
  absl::StatusOr<std::string> key = StickyKey(request);
  if (!key.ok()) return key.status();
  return assignment_.ArmOf(*key);
}

void SplitEndpoint::DropStickyColumn(size_t arm, core::InferRequest& request) const {
  if (config_.sticky_key.empty() || models_ == nullptr) return;
  absl::StatusOr<std::shared_ptr<const ServedModel>> served =
      models_->Find(config_.arms[arm].model, config_.arms[arm].version);
  if (!served.ok()) return;  // the arm's call reports it
  const auto& inputs = (*served)->config.inputs;
  if (std::any_of(inputs.begin(), inputs.end(),
                  [&](const runtime::TensorSpec& in) { return in.name == config_.sticky_key; })) {
    return;
  }
  std::erase_if(request.inputs,
                [&](const core::Tensor& t) { return t.name == config_.sticky_key; });
}

void SplitEndpoint::InferAsync(core::InferRequest request, InferCallback done) const {
  if (!request.model_version.empty()) {
    return done(absl::InvalidArgumentError(
        fmt::format("endpoint '{}' is a split: its arms choose the version; call it without one",
                    config_.name)));
  }
  absl::StatusOr<size_t> chosen = ChooseArm(request);
  if (!chosen.ok()) return done(chosen.status());
  const size_t arm = *chosen;
  DropStickyColumn(arm, request);
  request.model_version = config_.arms[arm].version;
  arms_[arm]->InferAsync(std::move(request), [this, arm, done = std::move(done)](
                                                 absl::StatusOr<core::InferResponse> response) {
    if (!response.ok()) return done(std::move(response));
    response->parameters["arm"] = config_.arms[arm].name;
    response->parameters["model_version"] = response->model_version;
    if (metrics_ != nullptr) {
      metrics_->RecordSplit(config_.name, config_.arms[arm].name, response->model_version);
    }
    done(std::move(response));
  });
}

}  // namespace strata::serving
