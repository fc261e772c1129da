// FeedbackEndpoint is a decorator Endpoint that keeps each answer of the
// endpoint it wraps in the Experiments' prediction log under the request's
// id, so that feedback (`POST /v2/models/{endpoint}/feedback`) can be
// joined to it later. A request without an id gets one ("strata-" and 32
// hex digits), echoed in the response like any id. It knows nothing of
// plans or protocols. Thread-safe.
#ifndef STRATA_SERVING_EXPERIMENT_FEEDBACK_ENDPOINT_H_
#define STRATA_SERVING_EXPERIMENT_FEEDBACK_ENDPOINT_H_

#include <memory>
#include <string>
#include <vector>

#include "serving/endpoint.h"
#include "serving/experiment/experiments.h"

namespace strata::serving {

class FeedbackEndpoint : public Endpoint {
 public:
  // `experiments` must have the endpoint with feedback (Experiments::Add).
  FeedbackEndpoint(std::shared_ptr<Endpoint> inner, std::shared_ptr<Experiments> experiments)
      : inner_(std::move(inner)), experiments_(std::move(experiments)) {}

  const std::string& name() const override { return inner_->name(); }
  EndpointDescription Describe() const override { return inner_->Describe(); }
  void InferAsync(core::InferRequest request, InferCallback done) const override;
  // Also hands the Experiments the server's metrics registry.
  void Connect(const PlanServices& services) override;
  void Disconnect() override { inner_->Disconnect(); }
  std::vector<std::string> key_columns() const override { return inner_->key_columns(); }

 private:
  const std::shared_ptr<Endpoint> inner_;
  const std::shared_ptr<Experiments> experiments_;
};

// A fresh request id: "strata-" and 32 random hex digits.
std::string NewRequestId();

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXPERIMENT_FEEDBACK_ENDPOINT_H_
