#include "serving/plans/row_tensors.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "fmt/format.h"

namespace strata::serving {

absl::StatusOr<core::Tensor> GatherRows(const core::Tensor& t, const std::vector<size_t>& rows,
                                        size_t total_rows) {
  core::Tensor out;
  out.name = t.name;
  out.dtype = t.dtype;
  out.shape = t.shape;
  out.shape[0] = static_cast<int64_t>(rows.size());
  if (t.dtype == core::DataType::kBytes) {
    std::vector<std::string_view> elements;
    if (absl::Status s = core::SplitBytesElements(t.data, elements); !s.ok()) return s;
    if (elements.size() % total_rows != 0) {
      return absl::InvalidArgumentError(
          fmt::format("input '{}' does not split into {} rows", t.name, total_rows));
    }
    const size_t per_row = elements.size() / total_rows;
    for (size_t r : rows) {
      for (size_t e = 0; e < per_row; ++e) {
        core::AppendBytesElement(elements[r * per_row + e], out.data);
      }
    }
    return out;
  }
  if (t.data.size() % total_rows != 0) {
    return absl::InvalidArgumentError(
        fmt::format("input '{}' does not split into {} rows", t.name, total_rows));
  }
  const size_t row_bytes = t.data.size() / total_rows;
  out.data.resize(rows.size() * row_bytes);
  for (size_t i = 0; i < rows.size(); ++i) {
    std::memcpy(out.data.data() + i * row_bytes, t.data.data() + rows[i] * row_bytes, row_bytes);
  }
  return out;
}

}  // namespace strata::serving
