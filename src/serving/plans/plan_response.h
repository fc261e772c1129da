// The response of a batch that went through its plan's stages: one tensor
// per output slot in row order, then the plan's own per-row output and
// parameters. Text (layer names, parameter names) is written here, at the
// edge of the plan. Pure functions; thread-safe.
#ifndef STRATA_SERVING_PLANS_PLAN_RESPONSE_H_
#define STRATA_SERVING_PLANS_PLAN_RESPONSE_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/infer_request.h"
#include "serving/plans/row_batch.h"

namespace strata::serving {

// A static plan's: the table's outputs, a BOOL `found` per row, the table
// and its producing model, `layer` ("table", or "default" when the store
// could not be asked) and `degraded`.
absl::StatusOr<core::InferResponse> StaticResponse(RowBatch& batch);

// A hybrid or dynamic plan's: the model's outputs, a BYTES `layer` per row,
// rows per layer (`layer_table`, `layer_cache`, `layer_model`), `layer` (the
// one layer that answered every row, or "mixed"), the model and its version,
// the table when it answered, and `degraded`.
absl::StatusOr<core::InferResponse> LayeredResponse(RowBatch& batch, const std::string& model,
                                                    int64_t model_version);

}  // namespace strata::serving

#endif  // STRATA_SERVING_PLANS_PLAN_RESPONSE_H_
