// XGBoostModel is one loaded XGBoost booster behind the runtime::Model
// interface. Run() is safe from many threads at once: XGBoost 1.7's in-place
// prediction keeps its result buffer per (thread, booster), and the booster
// is fully configured by the dry run in Create() before any Run().
#ifndef STRATA_RUNTIME_XGBOOST_XGBOOST_MODEL_H_
#define STRATA_RUNTIME_XGBOOST_XGBOOST_MODEL_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/model.h"
#include "runtime/model_config.h"

namespace strata::runtime {

class XGBoostModel final : public Model {
 public:
  struct Options {
    ModelConfig config;
    std::filesystem::path artifact;  // the model.json to load
    int threads = 1;                 // XGBoost nthread
    bool margin = false;             // raw scores instead of probabilities
  };

  // Loads the booster, checks it against `options.config` (input width,
  // dtypes, output shape via a dry run) and returns it ready to serve.
  static absl::StatusOr<std::unique_ptr<Model>> Create(Options options);

  ~XGBoostModel() override;
  XGBoostModel(const XGBoostModel&) = delete;
  XGBoostModel& operator=(const XGBoostModel&) = delete;

  absl::StatusOr<std::vector<core::Tensor>> Run(std::span<const core::Tensor> inputs) override;

 private:
  // Takes ownership of `booster` (an XGBoost BoosterHandle).
  XGBoostModel(Options options, void* booster, int64_t num_features);

  const ModelConfig config_;
  void* const booster_;  // BoosterHandle; freed in the destructor
  const int64_t num_features_;
  const std::string predict_config_;  // the C API's prediction JSON
};

}  // namespace strata::runtime

#endif  // STRATA_RUNTIME_XGBOOST_XGBOOST_MODEL_H_
