#include "serving/experiment/shadow_endpoint.h"

#include <algorithm>
#include <future>
#include <random>

#include "fmt/format.h"
#include "serving/feature_model_call.h"
#include "serving/model_repository.h"
#include "serving/server_metrics.h"

namespace strata::serving {
namespace {

std::string ShadowLabel(const ShadowOptions& options) {
  if (options.live_model) return "live";
  return fmt::format("{}@{}", options.model, options.version.empty() ? "default" : options.version);
}

std::string PrimaryLabel(const core::InferResponse& response) {
  auto arm = response.parameters.find("arm");
  if (arm != response.parameters.end() && std::holds_alternative<std::string>(arm->second)) {
    return fmt::format("{}@{}", std::get<std::string>(arm->second), response.model_version);
  }
  return response.model_version;
}

// Keeps only the inputs `served` declares (a plan's key columns are not
// the model's).
void KeepDeclaredInputs(const ServedModel& served, core::InferRequest& request) {
  const auto& declared = served.config.inputs;
  std::erase_if(request.inputs, [&](const core::Tensor& t) {
    return std::none_of(declared.begin(), declared.end(),
                        [&](const runtime::TensorSpec& in) { return in.name == t.name; });
  });
}

}  // namespace

ShadowEndpoint::ShadowEndpoint(std::shared_ptr<Endpoint> inner, ShadowOptions options,
                               std::shared_ptr<Experiments> experiments)
    : inner_(std::move(inner)),
      options_(std::move(options)),
      experiments_(std::move(experiments)),
      label_(ShadowLabel(options_)),
      counters_(experiments_->ShadowCountersFor(inner_->name(), label_)),
      admission_(options_.admission, ShadowAdmission::Clock::now()),
      queue_(std::max<size_t>(1, options_.queue)) {}

void ShadowEndpoint::Connect(const PlanServices& services) {
  models_ = services.models;
  if (services.metrics != nullptr) experiments_->AttachMetrics(services.metrics->registry());
  inner_->Connect(services);
}

void ShadowEndpoint::Disconnect() {
  queue_.Stop();
  inner_->Disconnect();
}

bool ShadowEndpoint::Sampled() const {
  if (options_.share >= 1) return true;
  if (options_.share <= 0) return false;
  thread_local std::mt19937_64 random(std::random_device{}());
  return std::uniform_real_distribution<double>(0, 1)(random) < options_.share;
}

void ShadowEndpoint::InferAsync(core::InferRequest request, InferCallback done) const {
  if (models_ == nullptr || counters_ == nullptr)
    return inner_->InferAsync(std::move(request), std::move(done));
  const size_t in_flight = in_flight_.fetch_add(1, std::memory_order_relaxed) + 1;
  std::shared_ptr<core::InferRequest> copy = Sampled() ? Admit(in_flight, request) : nullptr;
  inner_->InferAsync(std::move(request), [this, copy = std::move(copy), done = std::move(done)](
                                             absl::StatusOr<core::InferResponse> response) mutable {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    if (copy != nullptr && response.ok()) Offer(std::move(copy), *response);
    done(std::move(response));
  });
}

std::shared_ptr<core::InferRequest> ShadowEndpoint::Admit(size_t in_flight,
                                                          const core::InferRequest& request) const {
  switch (admission_.Decide(ShadowAdmission::Clock::now(), in_flight)) {
    case ShadowDecision::kCopy:
      return std::make_shared<core::InferRequest>(request);
    case ShadowDecision::kPrimaryBusy:
      experiments_->CountShadow(*counters_, ShadowEvent::kPrimaryBusy);
      return nullptr;
    case ShadowDecision::kOverBudget:
      experiments_->CountShadow(*counters_, ShadowEvent::kOverBudget);
      return nullptr;
  }
  return nullptr;
}

void ShadowEndpoint::Offer(std::shared_ptr<core::InferRequest> copy,
                           const core::InferResponse& primary) const {
  auto answer = std::make_shared<core::InferResponse>(primary);
  const bool queued = queue_.TryPush([this, copy = std::move(copy), answer = std::move(answer)] {
    const auto start = ShadowAdmission::Clock::now();
    RunShadow(std::move(*copy), *answer);
    const auto end = ShadowAdmission::Clock::now();
    admission_.Charge(end, end - start);
  });
  experiments_->CountShadow(*counters_, queued ? ShadowEvent::kSent : ShadowEvent::kQueueFull);
}

absl::StatusOr<core::InferResponse> ShadowEndpoint::CallShadow(core::InferRequest request) const {
  const std::string model = options_.live_model ? inner_->Describe().model : options_.model;
  absl::StatusOr<std::shared_ptr<const ServedModel>> served =
      models_->Find(model, options_.live_model ? "" : options_.version);
  if (!served.ok()) return served.status();
  if (!(*served)->ready()) return absl::UnavailableError("the shadow is not ready");
  request.model_name = model;
  request.model_version = std::to_string((*served)->version);
  std::promise<absl::StatusOr<core::InferResponse>> answered;
  auto done = [&answered](absl::StatusOr<core::InferResponse> r) {
    answered.set_value(std::move(r));
  };
  if (CallsFeatures(**served, request)) {
    RunWithFeatures(*models_, *served, std::move(request), done);
  } else {
    KeepDeclaredInputs(**served, request);
    if (absl::Status s = models_->Validate(**served, request); !s.ok()) return s;
    models_->Run(*served, std::move(request), done);
  }
  return answered.get_future().get();
}

void ShadowEndpoint::RunShadow(core::InferRequest request,
                               const core::InferResponse& primary) const {
  std::optional<std::vector<size_t>> rows;
  if (options_.live_model) {
    rows = TableRows(primary);
    if (rows && rows->empty()) return;  // no row came from the table
  }
  request.outputs.clear();
  absl::StatusOr<core::InferResponse> shadow = CallShadow(std::move(request));
  absl::StatusOr<std::vector<RowAgreement>> compared =
      shadow.ok() ? CompareResponses(primary, *shadow, rows) : shadow.status();
  if (!compared.ok()) {
    experiments_->CountShadow(*counters_, ShadowEvent::kError);
    return;
  }
  experiments_->RecordShadow(name(), PrimaryLabel(primary), label_, *compared);
}

std::optional<std::vector<size_t>> TableRows(const core::InferResponse& response) {
  for (const core::Tensor& t : response.outputs) {
    std::vector<size_t> rows;
    if (t.name == "layer" && t.dtype == core::DataType::kBytes) {
      std::vector<std::string_view> layers;
      if (!core::SplitBytesElements(t.data, layers).ok()) return std::nullopt;
      for (size_t r = 0; r < layers.size(); ++r) {
        if (layers[r] == "table") rows.push_back(r);
      }
      return rows;
    }
    if (t.name == "found" && t.dtype == core::DataType::kBool) {
      for (size_t r = 0; r < t.data.size(); ++r) {
        if (t.data[r] != 0) rows.push_back(r);
      }
      return rows;
    }
  }
  return std::nullopt;
}

}  // namespace strata::serving
