#include "serving/split_endpoint.h"

#include <algorithm>
#include <chrono>
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
  if (config.salt.empty()) config.salt = config.name;
  std::vector<SplitArm> arms = config.arms;
  std::unique_ptr<SplitEndpoint> endpoint(new SplitEndpoint(std::move(config)));
  absl::StatusOr<std::shared_ptr<const SplitRouting>> routing =
      endpoint->MakeRouting(std::move(arms), nullptr);
  if (!routing.ok()) return routing.status();
  endpoint->routing_.store(*std::move(routing));
  return endpoint;
}

SplitEndpoint::SplitEndpoint(SplitEndpointConfig config) : config_(std::move(config)) {}

absl::StatusOr<std::shared_ptr<const SplitRouting>> SplitEndpoint::MakeRouting(
    std::vector<SplitArm> arms, const SplitRouting* old) const {
  std::vector<double> weights;
  for (const SplitArm& arm : arms) weights.push_back(arm.weight);
  absl::StatusOr<SplitAssignment> assignment = SplitAssignment::Create(weights, config_.salt);
  if (!assignment.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("endpoint '{}': {}", config_.name, std::string(assignment.status().message())));
  }
  auto routing = std::make_shared<SplitRouting>(
      SplitRouting{.arms = {}, .assignment = *std::move(assignment), .plans = {}, .windows = {}});
  for (size_t i = 0; i < arms.size(); ++i) {
    routing->windows.push_back(std::make_shared<ArmWindow>());
    if (old != nullptr && i < old->arms.size() && old->arms[i].model == arms[i].model &&
        old->arms[i].endpoint == arms[i].endpoint) {
      routing->plans.push_back(old->plans[i]);
      continue;
    }
    absl::StatusOr<std::shared_ptr<Endpoint>> plan = ArmPlan(arms[i]);
    if (!plan.ok()) return plan.status();
    routing->plans.push_back(*std::move(plan));
  }
  routing->arms = std::move(arms);
  return std::shared_ptr<const SplitRouting>(std::move(routing));
}

absl::StatusOr<std::shared_ptr<Endpoint>> SplitEndpoint::ArmPlan(const SplitArm& arm) const {
  if (!arm.endpoint.empty()) {
    auto it = config_.endpoints.find(arm.endpoint);
    if (it == config_.endpoints.end()) {
      return absl::InvalidArgumentError(fmt::format(
          "endpoint '{}': arm '{}' names the endpoint '{}', which the server does not have",
          config_.name, arm.name, arm.endpoint));
    }
    return it->second;  // the server connects it
  }
  HybridEndpointConfig dynamic{.name = config_.name,
                               .model = arm.model,
                               .table = "",
                               .key = {},
                               .cache_max_bytes = 0,
                               .plan = PlanKind::kDynamic};
  auto plan = std::make_shared<HybridEndpoint>(nullptr, std::move(dynamic));
  if (models_ != nullptr) plan->Connect(arm_services_);
  return plan;
}

absl::Status SplitEndpoint::SetArms(std::vector<SplitArm> arms) {
  if (arms.empty()) {
    return absl::InvalidArgumentError(fmt::format("endpoint '{}': no arm", config_.name));
  }
  std::lock_guard<std::mutex> lock(set_arms_);
  absl::StatusOr<std::shared_ptr<const SplitRouting>> routing =
      MakeRouting(std::move(arms), routing_.load().get());
  if (!routing.ok()) return routing.status();
  routing_.store(*std::move(routing));
  return absl::OkStatus();
}

void SplitEndpoint::Connect(const PlanServices& services) {
  metrics_ = services.metrics;
  models_ = services.models;
  // The arms' rows are not observed: the key log follows keyed plans.
  arm_services_ = PlanServices{.models = services.models, .metrics = services.metrics};
  const std::shared_ptr<const SplitRouting> routing = routing_.load();
  for (size_t i = 0; i < routing->arms.size(); ++i) {
    if (routing->arms[i].endpoint.empty()) routing->plans[i]->Connect(arm_services_);
  }
}

EndpointDescription SplitEndpoint::Describe() const {
  const std::shared_ptr<const SplitRouting> routing = routing_.load();
  EndpointDescription d =
      routing->plans.front()->Describe();  // inputs and outputs: the first arm's
  d.plan = PlanKind::kSplit;
  d.versions.clear();
  d.ready = models_ != nullptr;
  std::vector<std::string> not_ready;
  for (size_t i = 0; i < routing->arms.size() && models_ != nullptr; ++i) {
    const SplitArm& arm = routing->arms[i];
    const std::string why = ArmReadiness(arm, d.versions);
    // An arm without traffic does not hold readiness.
    if (why.empty() || arm.weight == 0) continue;
    not_ready.push_back(fmt::format("arm '{}': {}", arm.name, why));
  }
  if (!not_ready.empty()) {
    d.ready = false;
    d.reason = fmt::format("{}", fmt::join(not_ready, "; "));
  }
  return d;
}

std::string SplitEndpoint::ArmReadiness(const SplitArm& arm, std::vector<int64_t>& versions) const {
  if (!arm.endpoint.empty()) {
    const EndpointDescription target = config_.endpoints.at(arm.endpoint)->Describe();
    versions.insert(versions.end(), target.versions.begin(), target.versions.end());
    if (target.ready) return "";
    return fmt::format("endpoint '{}': {}", arm.endpoint, target.reason);
  }
  absl::StatusOr<std::shared_ptr<const ServedModel>> served = models_->Find(arm.model, arm.version);
  if (served.ok() && (*served)->ready()) {
    versions.push_back((*served)->version);
    return "";
  }
  return served.ok() ? (*served)->reason : std::string(served.status().message());
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

absl::StatusOr<size_t> SplitEndpoint::ChooseArm(const SplitRouting& routing,
                                                const core::InferRequest& request) const {
  if (const std::string* forced = Header(request, kArmHeader)) {
    for (size_t i = 0; i < routing.arms.size(); ++i) {
      if (routing.arms[i].name == *forced) return i;
    }
    std::vector<std::string> names;
    for (const SplitArm& arm : routing.arms) names.push_back(arm.name);
    return absl::InvalidArgumentError(fmt::format("endpoint '{}' has no arm '{}'; its arms: {}",
                                                  config_.name, *forced, fmt::join(names, ", ")));
  }
  if (config_.sticky_key.empty() && config_.sticky_header.empty()) {
    return routing.assignment.ArmOfBucket(RandomBucket());
  }
  absl::StatusOr<std::string> key = StickyKey(request);
  if (!key.ok()) return key.status();
  return routing.assignment.ArmOf(*key);
}

void SplitEndpoint::FitInputs(const SplitArm& arm, const Endpoint& plan,
                              core::InferRequest& request) const {
  std::vector<runtime::TensorSpec> inputs;
  if (!arm.endpoint.empty()) {
    EndpointDescription target = plan.Describe();
    if (target.plan == PlanKind::kSplit) return;  // its arms fit their own
    inputs = std::move(target.inputs);
  } else {
    if (config_.sticky_key.empty() || models_ == nullptr) return;
    absl::StatusOr<std::shared_ptr<const ServedModel>> served =
        models_->Find(arm.model, arm.version);
    if (!served.ok()) return;  // the arm's call reports it
    inputs = (*served)->config.inputs;
  }
  const auto takes = [&](const std::string& name) {
    return std::any_of(inputs.begin(), inputs.end(),
                       [&](const runtime::TensorSpec& in) { return in.name == name; });
  };
  std::erase_if(request.inputs, [&](const core::Tensor& t) {
    return arm.endpoint.empty() ? t.name == config_.sticky_key && !takes(t.name) : !takes(t.name);
  });
}

void SplitEndpoint::InferAsync(core::InferRequest request, InferCallback done) const {
  if (!request.model_version.empty()) {
    return done(absl::InvalidArgumentError(
        fmt::format("endpoint '{}' is a split: its arms choose the version; call it without one",
                    config_.name)));
  }
  std::shared_ptr<const SplitRouting> routing = routing_.load();
  absl::StatusOr<size_t> chosen = ChooseArm(*routing, request);
  if (!chosen.ok()) return done(chosen.status());
  const size_t arm = *chosen;
  const Endpoint& plan = *routing->plans[arm];
  FitInputs(routing->arms[arm], plan, request);
  request.model_version = routing->arms[arm].version;  // an endpoint arm's: empty
  if (!routing->arms[arm].endpoint.empty()) {
    // The arm is chosen: a split behind it must not read the header as its own.
    std::erase_if(request.headers, [](const auto& h) { return h.first == kArmHeader; });
  }
  plan.InferAsync(
      std::move(request),
      [this, arm, routing = std::move(routing), start = std::chrono::steady_clock::now(),
       done = std::move(done)](absl::StatusOr<core::InferResponse> response) {
        const std::chrono::duration<double, std::milli> took =
            std::chrono::steady_clock::now() - start;
        routing->windows[arm]->Record(response.ok(), took.count());
        if (!response.ok()) return done(std::move(response));
        const SplitArm& answered = routing->arms[arm];
        response->parameters["arm"] = answered.name;
        response->parameters["model_version"] = response->model_version;
        if (metrics_ != nullptr) {
          metrics_->RecordSplit(config_.name, answered.name, response->model_version);
        }
        done(std::move(response));
      });
}

}  // namespace strata::serving
