// Merging requests into one batch along the first (batch) dimension, and
// splitting a batch's outputs back into per-request pieces. Pure functions;
// thread-safe.
#ifndef STRATA_SERVING_TENSOR_BATCHING_H_
#define STRATA_SERVING_TENSOR_BATCHING_H_

#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"

namespace strata::serving {

// Requests can share a batch only when their keys are equal: the same
// datatypes and the same dimensions apart from the first.
std::string BatchKey(std::span<const core::Tensor> inputs);

// Concatenates each input of `requests` along dimension 0. REQUIRES: every
// request has the same BatchKey.
std::vector<core::Tensor> ConcatenateBatch(
    std::span<const std::vector<core::Tensor>* const> requests);

// Splits each output along dimension 0 into consecutive pieces of `rows[i]`
// rows; error when an output's first dimension is not the sum of `rows`.
absl::StatusOr<std::vector<std::vector<core::Tensor>>> SplitBatch(
    const std::vector<core::Tensor>& outputs, std::span<const int64_t> rows);

}  // namespace strata::serving

#endif  // STRATA_SERVING_TENSOR_BATCHING_H_
