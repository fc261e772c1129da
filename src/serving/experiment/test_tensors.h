// Helpers for the experiment tests: FP32 score tensors and responses.
#ifndef STRATA_SERVING_EXPERIMENT_TEST_TENSORS_H_
#define STRATA_SERVING_EXPERIMENT_TEST_TENSORS_H_

#include <cstring>
#include <string>
#include <vector>

#include "core/infer_request.h"

namespace strata::serving::testing {

inline core::Tensor Scores(const std::vector<float>& values, int64_t width,
                           std::string name = "probability") {
  core::Tensor t{.name = std::move(name), .dtype = core::DataType::kFp32, .shape = {}, .data = {}};
  const auto rows = static_cast<int64_t>(values.size()) / width;
  t.shape = width == 1 ? core::Shape{rows} : core::Shape{rows, width};
  t.data.resize(values.size() * sizeof(float));
  std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

inline core::InferResponse Response(const std::vector<float>& values, int64_t width,
                                    std::string arm = "", std::string version = "1") {
  core::InferResponse r;
  r.model_version = std::move(version);
  if (!arm.empty()) r.parameters["arm"] = std::move(arm);
  r.outputs.push_back(Scores(values, width));
  return r;
}

}  // namespace strata::serving::testing

#endif  // STRATA_SERVING_EXPERIMENT_TEST_TENSORS_H_
