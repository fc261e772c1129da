// A call of a model's own name (no endpoint) whose version has a
// features.yaml: the request carries the entity key columns and request
// fields (key-only), the version's ServedFeatures (serving/served_features.h)
// computes the model's inputs for every row, and the request runs through
// the ModelRunner port as any other. With `return_features: true` the
// response also carries `features`, FP32 [rows, width]. Thread-safe.
#ifndef STRATA_SERVING_FEATURE_MODEL_CALL_H_
#define STRATA_SERVING_FEATURE_MODEL_CALL_H_

#include <memory>

#include "core/infer_request.h"
#include "serving/plans/model_runner.h"

namespace strata::serving {

// Whether a call of `served`'s own name goes through RunWithFeatures: the
// version has features, or the request asks for them (which is refused).
bool CallsFeatures(const ServedModel& served, const core::InferRequest& request);

// Computes the features of `request` on `served` (ready), validates the
// model inputs and runs them; `done` is called exactly once, on any thread.
void RunWithFeatures(const ModelRunner& runner, std::shared_ptr<const ServedModel> served,
                     core::InferRequest request, ModelRunner::Done done);

}  // namespace strata::serving

#endif  // STRATA_SERVING_FEATURE_MODEL_CALL_H_
