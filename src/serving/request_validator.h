// Checks an InferRequest against a model's declared signature before it
// reaches the backend, and puts its inputs in declared order. Every error is
// INVALID_ARGUMENT and says what was sent, what was expected and where.
// Pure functions; thread-safe.
#ifndef STRATA_SERVING_REQUEST_VALIDATOR_H_
#define STRATA_SERVING_REQUEST_VALIDATOR_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/infer_request.h"
#include "runtime/model_config.h"

namespace strata::serving {

// On success `request.inputs` is reordered to the config's input order.
absl::Status ValidateAndOrderInputs(const runtime::ModelConfig& config,
                                    core::InferRequest& request);

// Indices into config.outputs of the outputs to return: the requested ones
// in request order, or all when none are requested.
absl::StatusOr<std::vector<size_t>> SelectOutputs(const runtime::ModelConfig& config,
                                                  const core::InferRequest& request);

}  // namespace strata::serving

#endif  // STRATA_SERVING_REQUEST_VALIDATOR_H_
