#include "serving/plans/plan_builder.h"

#include "serving/plans/cache_stage.h"
#include "serving/plans/default_stage.h"
#include "serving/plans/feature_stage.h"
#include "serving/plans/model_stage.h"
#include "serving/plans/table_stage.h"

namespace strata::serving {
namespace {

// The cache (when there is one), the features of the rows left (models
// with a features.yaml), the model, then the cache again for the rows the
// model computed.
void AddCacheAndModel(const LayerRecorder& recorder, const ModelRunner& models,
                      PredictionCache* cache, std::vector<std::unique_ptr<Stage>>& stages) {
  if (cache != nullptr) stages.push_back(std::make_unique<CacheStage>(*cache, recorder));
  stages.push_back(std::make_unique<FeatureStage>(FeatureStage::Place::kBeforeModel));
  stages.push_back(std::make_unique<ModelStage>(models, recorder));
  if (cache != nullptr) stages.push_back(std::make_unique<CacheFillStage>(*cache));
}

}  // namespace

StageList StaticPlan(const LayerRecorder& recorder, double default_value,
                     bool fail_when_unavailable) {
  std::vector<std::unique_ptr<Stage>> stages;
  stages.push_back(std::make_unique<TableStage>(recorder, fail_when_unavailable));
  stages.push_back(std::make_unique<DefaultStage>(default_value, recorder));
  return StageList(std::move(stages));
}

StageList HybridPlan(const LayerRecorder& recorder, const ModelRunner& models,
                     PredictionCache* cache) {
  std::vector<std::unique_ptr<Stage>> stages;
  stages.push_back(std::make_unique<TableStage>(recorder, /*fail_when_unavailable=*/false));
  AddCacheAndModel(recorder, models, cache, stages);
  return StageList(std::move(stages));
}

StageList DynamicPlan(const LayerRecorder& recorder, const ModelRunner& models,
                      PredictionCache* cache) {
  std::vector<std::unique_ptr<Stage>> stages;
  stages.push_back(std::make_unique<FeatureStage>(FeatureStage::Place::kBeforeCache));
  AddCacheAndModel(recorder, models, cache, stages);
  return StageList(std::move(stages));
}

}  // namespace strata::serving
