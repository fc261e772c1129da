// FeatureStage turns a key-only request into the model's inputs for the
// rows the model will compute, when the batch's model version has a
// features.yaml (serving/served_features.h): the request's key columns and
// request-time fields (in `model_inputs` until then) become raw rows, the
// feature tables are looked up (one multi-get per table, on the store's
// own threads for Redis, under the request's feature deadline), and the
// pipeline assembles the model's input tensors; the plan goes on from the
// thread the lookup answered on. A batch whose model has no features
// passes through, so plans keep answering requests that carry the model's
// inputs.
//
// Where it sits (serving/plans/plan_builder.h):
//   kBeforeCache  runs only for a plan without key columns (dynamic): a row's
//                 key becomes its feature vector's bytes, so the cache is
//                 keyed by what the model sees;
//   kBeforeModel  runs for the rows no table or cache answered (hybrid, and
//                 dynamic with key columns), unless kBeforeCache ran.
// With `return_features: true` every row is computed and its vector returned
// (batch.feature_vectors); INVALID_ARGUMENT when the model has no features.
// Thread-safe.
#ifndef STRATA_SERVING_PLANS_FEATURE_STAGE_H_
#define STRATA_SERVING_PLANS_FEATURE_STAGE_H_

#include "serving/plans/stage.h"

namespace strata::serving {

class FeatureStage : public Stage {
 public:
  enum class Place { kBeforeCache, kBeforeModel };

  explicit FeatureStage(Place place) : place_(place) {}

  void Run(std::shared_ptr<RowBatch> batch, Next next) const override;

 private:
  const Place place_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_PLANS_FEATURE_STAGE_H_
