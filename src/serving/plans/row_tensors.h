// Row-wise helpers over tensors whose first dimension is the batch: a
// subset of the rows, and each row's bytes across inputs (the key of a row
// for a plan without key columns). Pure functions; thread-safe.
#ifndef STRATA_SERVING_PLANS_ROW_TENSORS_H_
#define STRATA_SERVING_PLANS_ROW_TENSORS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"

namespace strata::serving {

// Rows `rows` (in that order) of `t`, which has `total_rows` rows.
absl::StatusOr<core::Tensor> GatherRows(const core::Tensor& t, const std::vector<size_t>& rows,
                                        size_t total_rows);

// The bytes of each row across `inputs` (a fixed-size input's row slice; a
// BYTES input's elements, each behind its 4-byte length).
absl::StatusOr<std::vector<std::string>> RowInputKeys(const std::vector<core::Tensor>& inputs);

}  // namespace strata::serving

#endif  // STRATA_SERVING_PLANS_ROW_TENSORS_H_
