// The plans strata serves, as lists of stages (serving/plans/stage.h):
//
//   static   table -> default
//   hybrid   table -> cache -> features -> model (-> cache fill)
//   dynamic           cache -> features -> model (-> cache fill)
//
// The feature stage (serving/plans/feature_stage.h) computes the model's
// inputs from a key-only request when the model version has a
// features.yaml, for the rows no table or cache answered; it passes
// through for other models. A dynamic plan without key columns computes
// features first instead (features -> cache -> model), so its cache is
// keyed by the feature vector. A plan without a cache leaves the cache
// stages out. New plans (split, shadow, cascade) are new stages and a new
// list here. The
// references passed must outlive the returned list. Thread-safe.
#ifndef STRATA_SERVING_PLANS_PLAN_BUILDER_H_
#define STRATA_SERVING_PLANS_PLAN_BUILDER_H_

#include "serving/plans/layer_recorder.h"
#include "serving/plans/model_runner.h"
#include "serving/plans/stage.h"
#include "serving/prediction_cache.h"

namespace strata::serving {

// `fail_when_unavailable`: a store that cannot be asked fails the request
// (UNAVAILABLE) instead of answering defaults flagged `degraded`.
StageList StaticPlan(const LayerRecorder& recorder, double default_value,
                     bool fail_when_unavailable);

// `cache` may be null (no cache layer).
StageList HybridPlan(const LayerRecorder& recorder, const ModelRunner& models,
                     PredictionCache* cache);
StageList DynamicPlan(const LayerRecorder& recorder, const ModelRunner& models,
                      PredictionCache* cache);

}  // namespace strata::serving

#endif  // STRATA_SERVING_PLANS_PLAN_BUILDER_H_
