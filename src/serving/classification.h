// The classification extension, as Triton defines it: a requested output
// with the parameter "classification": k (tritonclient's class_count) is
// answered, for each batch row, with the k largest of the output's values,
// largest first, as BYTES strings "value:index" or "value:index:label"
// (labels from the output's label_filename). The answer's shape is
// [batch, k] when the model batches, else [k]; k is capped at the number of
// values in a row. Values are written as C++ std::to_string writes them
// ("0.750000" for floats), as Triton does. Pure functions; thread-safe.
#ifndef STRATA_SERVING_CLASSIFICATION_H_
#define STRATA_SERVING_CLASSIFICATION_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/infer_request.h"
#include "runtime/model_config.h"

namespace strata::serving {

// One output the request wants classified.
struct Classification {
  std::string output;
  int64_t count = 0;  // k
};

// Takes the "classification" parameters out of the requested outputs, so
// that no plan or model behind sees them, and returns what they asked for
// (empty when nothing). INVALID_ARGUMENT unless each is a positive integer.
absl::StatusOr<std::vector<Classification>> TakeClassifications(core::InferRequest& request);

// INVALID_ARGUMENT, naming the output, unless each classified output is
// declared in `outputs` with a datatype that can be ranked (INT8..INT64,
// UINT8..UINT64, FP32, FP64).
absl::Status CheckClassifiable(std::span<const Classification> classifications,
                               std::span<const runtime::TensorSpec> outputs);

// The top `count` classes of each row of `output` (its first dimension is
// the batch when `batched`). `labels` holds the label of each class index;
// it may be short or empty.
absl::StatusOr<core::Tensor> Classify(const core::Tensor& output, int64_t count, bool batched,
                                      std::span<const std::string> labels);

// Replaces each classified output of `response` by its classes; labels come
// from the spec of the same name in `specs` (none when absent).
absl::Status ApplyClassifications(std::span<const Classification> classifications, bool batched,
                                  std::span<const runtime::TensorSpec> specs,
                                  core::InferResponse& response);

}  // namespace strata::serving

#endif  // STRATA_SERVING_CLASSIFICATION_H_
