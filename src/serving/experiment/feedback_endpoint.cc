#include "serving/experiment/feedback_endpoint.h"

#include <random>

#include "fmt/format.h"
#include "serving/server_metrics.h"

namespace strata::serving {

std::string NewRequestId() {
  thread_local std::mt19937_64 random(std::random_device{}());
  return fmt::format("strata-{:016x}{:016x}", random(), random());
}

void FeedbackEndpoint::Connect(const PlanServices& services) {
  if (services.metrics != nullptr) experiments_->AttachMetrics(services.metrics->registry());
  inner_->Connect(services);
}

void FeedbackEndpoint::InferAsync(core::InferRequest request, InferCallback done) const {
  if (request.id.empty()) {
    request.id = NewRequestId();
    request.has_id = true;
  }
  std::string id = request.id;
  inner_->InferAsync(std::move(request), [this, id = std::move(id), done = std::move(done)](
                                             absl::StatusOr<core::InferResponse> response) {
    if (response.ok()) {
      response->id = id;
      response->has_id = true;
      experiments_->RecordPrediction(name(), id, *response);
    }
    done(std::move(response));
  });
}

}  // namespace strata::serving
