// Row-wise helpers over tensors whose first dimension is the batch: a
// subset of the rows. Each row's bytes across inputs (the key of a row for a
// plan without key columns, RowInputKeys) is in serving/row_keys.h, shared
// with the model path's sketch. Pure functions; thread-safe.
#ifndef STRATA_SERVING_PLANS_ROW_TENSORS_H_
#define STRATA_SERVING_PLANS_ROW_TENSORS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"
#include "serving/row_keys.h"  // RowInputKeys

namespace strata::serving {

// Rows `rows` (in that order) of `t`, which has `total_rows` rows.
absl::StatusOr<core::Tensor> GatherRows(const core::Tensor& t, const std::vector<size_t>& rows,
                                        size_t total_rows);

}  // namespace strata::serving

#endif  // STRATA_SERVING_PLANS_ROW_TENSORS_H_
