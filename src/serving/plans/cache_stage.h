// CacheStage answers the rows whose key the PredictionCache holds under the
// batch's model version (layer `cache`); CacheFillStage, after the model
// stage, puts the rows the model computed under the same version, so a
// version swap never serves another version's answer. Thread-safe.
#ifndef STRATA_SERVING_PLANS_CACHE_STAGE_H_
#define STRATA_SERVING_PLANS_CACHE_STAGE_H_

#include "serving/plans/layer_recorder.h"
#include "serving/plans/stage.h"
#include "serving/prediction_cache.h"

namespace strata::serving {

class CacheStage : public Stage {
 public:
  // `cache` and `recorder` must outlive the stage.
  CacheStage(PredictionCache& cache, const LayerRecorder& recorder)
      : cache_(cache), recorder_(recorder) {}

  void Run(std::shared_ptr<RowBatch> batch, Next next) const override;

 private:
  PredictionCache& cache_;
  const LayerRecorder& recorder_;
};

class CacheFillStage : public Stage {
 public:
  explicit CacheFillStage(PredictionCache& cache) : cache_(cache) {}

  void Run(std::shared_ptr<RowBatch> batch, Next next) const override;

 private:
  PredictionCache& cache_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_PLANS_CACHE_STAGE_H_
