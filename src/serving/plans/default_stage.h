// DefaultStage answers every row still unanswered with the configured
// default value in each output element (layer `default`): what a static
// plan gives a key its table does not have, or every row when the store
// cannot be asked and the plan answers defaults. Thread-safe.
#ifndef STRATA_SERVING_PLANS_DEFAULT_STAGE_H_
#define STRATA_SERVING_PLANS_DEFAULT_STAGE_H_

#include "serving/plans/layer_recorder.h"
#include "serving/plans/stage.h"

namespace strata::serving {

class DefaultStage : public Stage {
 public:
  // `recorder` must outlive the stage.
  DefaultStage(double value, const LayerRecorder& recorder) : value_(value), recorder_(recorder) {}

  void Run(std::shared_ptr<RowBatch> batch, Next next) const override;

 private:
  const double value_;
  const LayerRecorder& recorder_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_PLANS_DEFAULT_STAGE_H_
