// ServedModelRunner is the ModelRunner (serving/plans/model_runner.h) over
// the model manager's published versions: Find() is ModelManager::Find(),
// Run() puts a validated request on the version's queue (its batcher) with
// its deadline, and answers with the outputs asked for, named, under the
// model's name and version. Thread-safe; the manager outlives it.
#ifndef STRATA_SERVING_SERVED_MODEL_RUNNER_H_
#define STRATA_SERVING_SERVED_MODEL_RUNNER_H_

#include "serving/lifecycle/model_manager.h"
#include "serving/plans/model_runner.h"

namespace strata::serving {

class ServedModelRunner : public ModelRunner {
 public:
  explicit ServedModelRunner(const ModelManager& manager) : manager_(manager) {}

  // A model with no ready version yields its not-ready view (ready() is
  // false, with the reason); callers check it.
  absl::StatusOr<std::shared_ptr<const ServedModel>> Find(std::string_view model,
                                                          std::string_view version) const override {
    return manager_.Find(model, version);
  }

  absl::Status Validate(const ServedModel& version, core::InferRequest& request) const override;

  // The request parameter "timeout" (microseconds) or the model's
  // default_timeout_us sets the deadline; a timeout over a year means none.
  // INVALID_ARGUMENT (timeout, outputs), RESOURCE_EXHAUSTED (queue full),
  // DEADLINE_EXCEEDED, INTERNAL (backend failure). The version's metrics
  // count the outcome.
  void Run(std::shared_ptr<const ServedModel> version, core::InferRequest request,
           Done done) const override;

 private:
  const ModelManager& manager_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_SERVED_MODEL_RUNNER_H_
