#include "serving/feature_model_call.h"

#include <numeric>

#include "fmt/format.h"
#include "serving/feature_inputs.h"
#include "serving/model_repository.h"
#include "serving/served_features.h"

namespace strata::serving {
namespace {

std::optional<ServedFeatures::Clock::time_point> Deadline(const core::Parameters& parameters,
                                                          ServedFeatures::Clock::time_point start) {
  auto it = parameters.find("timeout");
  if (it == parameters.end()) return std::nullopt;
  double us = 0;
  if (const auto* i = std::get_if<int64_t>(&it->second)) us = static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&it->second)) us = *d;
  if (!(us >= 1 && us < 1e12)) return std::nullopt;
  return start + std::chrono::microseconds(static_cast<int64_t>(us));
}

}  // namespace

bool CallsFeatures(const ServedModel& served, const core::InferRequest& request) {
  return served.features != nullptr || request.parameters.contains(kReturnFeaturesParameter);
}

void RunWithFeatures(const ModelRunner& runner, std::shared_ptr<const ServedModel> served,
                     core::InferRequest request, ModelRunner::Done done) {
  absl::StatusOr<bool> want = TakeReturnFeatures(request.parameters);
  if (!want.ok()) return done(want.status());
  std::shared_ptr<const ServedFeatures> features = served->features;
  if (!features) {
    if (!*want) return runner.Run(std::move(served), std::move(request), std::move(done));
    return done(absl::InvalidArgumentError(
        fmt::format("parameter '{}': model '{}' version {} has no features.yaml",
                    kReturnFeaturesParameter, served->name, served->version)));
  }
  absl::StatusOr<size_t> rows = FeatureRequestRows(request.inputs, served->name);
  if (!rows.ok()) return done(rows.status());
  ServedFeatures::Job job{.inputs = std::move(request.inputs),
                          .rows = std::vector<size_t>(*rows),
                          .deadline = Deadline(request.parameters, ServedFeatures::Clock::now()),
                          .request_id = request.id,
                          .want_vectors = *want};
  std::iota(job.rows.begin(), job.rows.end(), size_t{0});
  auto call = std::make_shared<core::InferRequest>(std::move(request));
  features->ComputeAsync(
      std::move(job), [&runner, served, features, call, n = *rows,
                       done = std::move(done)](absl::StatusOr<ServedFeatures::Computed> computed) {
        if (!computed.ok()) return done(computed.status());
        call->inputs = std::move(computed->inputs);
        if (absl::Status s = runner.Validate(*served, *call); !s.ok()) return done(s);
        if (computed->vectors.empty() && !computed->degraded) {
          return runner.Run(served, std::move(*call), done);
        }
        auto vectors = std::make_shared<std::vector<float>>(std::move(computed->vectors));
        runner.Run(served, std::move(*call),
                   [vectors, n, width = features->width(), degraded = computed->degraded,
                    done](absl::StatusOr<core::InferResponse> response) {
                     if (response.ok() && !vectors->empty()) {
                       response->outputs.push_back(FeatureVectorsTensor(*vectors, n, width));
                     }
                     if (response.ok() && degraded) response->parameters["degraded"] = true;
                     done(std::move(response));
                   });
      });
}

}  // namespace strata::serving
