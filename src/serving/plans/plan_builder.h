// The plans strata serves, as lists of stages (serving/plans/stage.h):
//
//   static   table -> default
//   hybrid   table -> cache -> model (-> cache fill)
//   dynamic           cache -> model (-> cache fill)
//
// A plan without a cache leaves the cache stages out. New plans (feature
// lookup, split, shadow, cascade) are new stages and a new list here. The
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
