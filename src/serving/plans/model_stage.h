// ModelStage sends the rows no earlier stage answered to the batch's model
// version as ONE request through the ModelRunner port (the version's queue
// and batcher; the answer comes back on the batcher's thread), and writes
// the answers into those rows (layer `model`). A key asked for twice in one
// request is computed once. The inputs are validated (ModelRunner::Validate)
// here unless the plan did it already (a dynamic plan without key
// columns, whose keys are the validated inputs): one validation per request.
// Thread-safe.
#ifndef STRATA_SERVING_PLANS_MODEL_STAGE_H_
#define STRATA_SERVING_PLANS_MODEL_STAGE_H_

#include "serving/plans/layer_recorder.h"
#include "serving/plans/model_runner.h"
#include "serving/plans/stage.h"

namespace strata::serving {

class ModelStage : public Stage {
 public:
  // `runner` and `recorder` must outlive the stage.
  ModelStage(const ModelRunner& runner, const LayerRecorder& recorder)
      : runner_(runner), recorder_(recorder) {}

  void Run(std::shared_ptr<RowBatch> batch, Next next) const override;

 private:
  // The request for the first row of each distinct unanswered key; fills
  // batch.model_rows, and `computed_by` (per unanswered row, its index in
  // model_rows).
  static absl::StatusOr<core::InferRequest> ModelRequest(RowBatch& batch,
                                                         const std::vector<size_t>& misses,
                                                         std::vector<size_t>& computed_by);
  // Copies the model's answers into the rows that asked for them.
  static absl::Status Take(RowBatch& batch, const core::InferResponse& answered,
                           const std::vector<size_t>& misses,
                           const std::vector<size_t>& computed_by);

  const ModelRunner& runner_;
  const LayerRecorder& recorder_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_PLANS_MODEL_STAGE_H_
