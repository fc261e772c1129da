#include "serving/served_model_runner.h"

#include <cmath>

#include "core/status_macros.h"
#include "fmt/format.h"
#include "serving/batch_queue.h"
#include "serving/request_validator.h"

namespace strata::serving {
namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::nanoseconds;

// A timeout longer than this means no deadline: a year outlives any call,
// and adding a timeout near INT64_MAX microseconds to the clock overflows.
constexpr double kLongestTimeoutUs = 365.0 * 24 * 3600 * 1e6;

// The "timeout" parameter in microseconds; 0 for a timeout too long to be a
// deadline.
absl::StatusOr<int64_t> TimeoutUs(const core::ParameterValue& value) {
  double us = 0;
  if (const auto* i = std::get_if<int64_t>(&value)) {
    us = static_cast<double>(*i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    us = *d;
  } else {
    return absl::InvalidArgumentError("parameter 'timeout' must be a number of microseconds");
  }
  if (!std::isfinite(us)) {
    return absl::InvalidArgumentError(
        fmt::format("parameter 'timeout' must be a finite number of microseconds, got {}", us));
  }
  if (us < 1) {
    return absl::InvalidArgumentError(
        fmt::format("parameter 'timeout' must be a positive number of microseconds, got {}", us));
  }
  return us > kLongestTimeoutUs ? 0 : static_cast<int64_t>(us);
}

// The request's deadline from its "timeout" parameter (microseconds) or the
// model's default; none when neither sets one.
absl::StatusOr<std::optional<Clock::time_point>> DeadlineOf(const core::InferRequest& request,
                                                            const runtime::ModelConfig& config,
                                                            Clock::time_point start) {
  int64_t timeout_us = config.scheduling.default_timeout_us;
  if (auto it = request.parameters.find("timeout"); it != request.parameters.end()) {
    STRATA_ASSIGN_OR_RETURN(timeout_us, TimeoutUs(it->second));
  }
  if (timeout_us <= 0 || static_cast<double>(timeout_us) > kLongestTimeoutUs) {
    return std::nullopt;
  }
  return start + microseconds(timeout_us);
}

// The status a failed batch is answered with: the model and version named,
// backend errors INTERNAL unless they blame the input.
absl::Status ModelFailure(const ServedModel& served, const absl::Status& status) {
  const absl::StatusCode code = status.code();
  if (code == absl::StatusCode::kResourceExhausted || code == absl::StatusCode::kDeadlineExceeded ||
      code == absl::StatusCode::kUnavailable) {
    return absl::Status(code,
                        fmt::format("model '{}': {}", served.name, std::string(status.message())));
  }
  return absl::Status(
      code == absl::StatusCode::kInvalidArgument ? code : absl::StatusCode::kInternal,
      fmt::format("model '{}' version {} failed: {}", served.name, served.version,
                  std::string(status.message())));
}

// Whether `selected` is every output, in declared order (the request asked
// for none by name, or for all of them in order).
bool SelectsAllInOrder(const std::vector<size_t>& selected, size_t outputs) {
  if (selected.size() != outputs) return false;
  for (size_t i = 0; i < selected.size(); ++i) {
    if (selected[i] != i) return false;
  }
  return true;
}

// The response to a request: the selected outputs, named. Every output in
// order (the usual request) keeps the model's vector of outputs as it is.
core::InferResponse Respond(const ServedModel& served, core::InferResponse response,
                            std::vector<core::Tensor> outputs,
                            const std::vector<size_t>& selected) {
  if (SelectsAllInOrder(selected, outputs.size())) {
    for (size_t i = 0; i < outputs.size(); ++i) outputs[i].name = served.config.outputs[i].name;
    response.outputs = std::move(outputs);
    return response;
  }
  for (size_t index : selected) {
    core::Tensor& out = outputs[index];
    out.name = served.config.outputs[index].name;
    response.outputs.push_back(std::move(out));
  }
  return response;
}

}  // namespace

absl::Status ServedModelRunner::Validate(const ServedModel& version,
                                         core::InferRequest& request) const {
  return ValidateAndOrderInputs(version.config, request);
}

void ServedModelRunner::Run(std::shared_ptr<const ServedModel> served, core::InferRequest request,
                            Done done) const {
  const Clock::time_point start = Clock::now();
  std::shared_ptr<ModelMetrics> metrics = served->metrics;
  auto fail = [&](absl::Status status) {
    metrics->RecordOutcome(OutcomeOf(status), Clock::now() - start);
    done(std::move(status));
  };
  absl::StatusOr<std::vector<size_t>> selected = SelectOutputs(served->config, request);
  if (!selected.ok()) return fail(selected.status());
  absl::StatusOr<std::optional<Clock::time_point>> deadline =
      DeadlineOf(request, served->config, start);
  if (!deadline.ok()) return fail(deadline.status());
  core::InferResponse response;
  response.model_name = served->name;
  response.model_version = std::to_string(served->version);
  response.id = std::move(request.id);
  response.has_id = request.has_id;
  runtime::Model& model = *served->model;
  model.RunAsync(
      std::move(request.inputs), {.deadline = *deadline},
      [served, metrics, start, selected = *std::move(selected), response = std::move(response),
       done = std::move(done)](absl::StatusOr<std::vector<core::Tensor>> outputs) mutable {
        absl::StatusOr<core::InferResponse> result =
            outputs.ok()
                ? absl::StatusOr<core::InferResponse>(
                      Respond(*served, std::move(response), *std::move(outputs), selected))
                : absl::StatusOr<core::InferResponse>(ModelFailure(*served, outputs.status()));
        metrics->RecordOutcome(OutcomeOf(result.status()), Clock::now() - start);
        done(std::move(result));
      });
}

}  // namespace strata::serving
