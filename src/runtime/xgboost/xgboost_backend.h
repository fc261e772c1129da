// The XGBoost backend loads a version's `model.json` (Booster.save_model JSON)
// through the XGBoost C API and predicts with in-place dense prediction.
//
// config.yaml contract: exactly one FP32 input of shape [N, F] where F is the
// model's feature count, and exactly one FP32 output of shape [N] (binary,
// regression, multi:softmax) or [N, K] (multi:softprob with K classes).
// Parameters:
//   artifact   file name inside the version directory (default model.json)
//   threads    XGBoost nthread per prediction, >= 1 (default 1)
//   output     "probability" (default; the objective's transform, e.g.
//              sigmoid) or "margin" (the raw score)
//
// The factory is thread-safe; the models it returns are safe for concurrent
// Run() calls.
#ifndef STRATA_RUNTIME_XGBOOST_XGBOOST_BACKEND_H_
#define STRATA_RUNTIME_XGBOOST_XGBOOST_BACKEND_H_

#include "runtime/backend_registry.h"

namespace strata::runtime {

// name "xgboost", platform "xgboost_json".
Backend XGBoostBackend();

}  // namespace strata::runtime

#endif  // STRATA_RUNTIME_XGBOOST_XGBOOST_BACKEND_H_
