// ModelRunner is the narrow port through which a plan's stages run models
// (ModelStage): find a version handle once per request, validate the
// request's inputs against that version's signature once, then run it on
// that handle. Stages never see
// the server core, its endpoints or the model manager. Implementations are
// thread-safe; `done` is called exactly once, on any thread.
#ifndef STRATA_SERVING_PLANS_MODEL_RUNNER_H_
#define STRATA_SERVING_PLANS_MODEL_RUNNER_H_

#include <functional>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/infer_request.h"

namespace strata::serving {

struct ServedModel;

class ModelRunner {
 public:
  using Done = std::function<void(absl::StatusOr<core::InferResponse>)>;

  virtual ~ModelRunner() = default;

  // The ready version of `model` at `version` (a number, a label, or empty
  // for the default). NOT_FOUND for an unknown model or version,
  // UNAVAILABLE when the model has no ready version.
  virtual absl::StatusOr<std::shared_ptr<const ServedModel>> Find(
      std::string_view model, std::string_view version) const = 0;

  // Checks `request`'s inputs against `version`'s signature and puts them in
  // its order (serving/request_validator.h). INVALID_ARGUMENT.
  virtual absl::Status Validate(const ServedModel& version, core::InferRequest& request) const = 0;

  // Runs `request` on `version` through its queue. REQUIRES: the request's
  // inputs passed Validate() against `version`. The
  // response names the model and version; its outputs are those requested
  // (all when none are).
  virtual void Run(std::shared_ptr<const ServedModel> version, core::InferRequest request,
                   Done done) const = 0;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_PLANS_MODEL_RUNNER_H_
