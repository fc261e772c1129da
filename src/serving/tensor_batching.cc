#include "serving/tensor_batching.h"

#include <numeric>

#include "fmt/format.h"

namespace strata::serving {

std::string BatchKey(std::span<const core::Tensor> inputs) {
  std::string key;
  for (const core::Tensor& input : inputs) {
    key += core::DataTypeName(input.dtype);
    for (size_t d = 1; d < input.shape.size(); ++d) {
      key += fmt::format(",{}", input.shape[d]);
    }
    key += ';';
  }
  return key;
}

std::vector<core::Tensor> ConcatenateBatch(
    std::span<const std::vector<core::Tensor>* const> requests) {
  const std::vector<core::Tensor>& first = *requests[0];
  std::vector<core::Tensor> merged;
  for (size_t i = 0; i < first.size(); ++i) {
    core::Tensor tensor{first[i].name, first[i].dtype, first[i].shape, {}};
    tensor.shape[0] = 0;
    size_t bytes = 0;
    for (const auto* request : requests) bytes += (*request)[i].data.size();
    tensor.data.reserve(bytes);
    for (const auto* request : requests) {
      const core::Tensor& part = (*request)[i];
      tensor.shape[0] += part.shape[0];
      tensor.data.insert(tensor.data.end(), part.data.begin(), part.data.end());
    }
    merged.push_back(std::move(tensor));
  }
  return merged;
}

namespace {

// Byte offsets of each row boundary of `tensor` (rows + 1 entries).
absl::StatusOr<std::vector<size_t>> RowOffsets(const core::Tensor& tensor, int64_t total_rows) {
  std::vector<size_t> offsets(static_cast<size_t>(total_rows) + 1, 0);
  if (tensor.dtype != core::DataType::kBytes) {
    const size_t row_bytes = tensor.data.size() / static_cast<size_t>(total_rows);
    for (size_t r = 0; r <= static_cast<size_t>(total_rows); ++r) offsets[r] = r * row_bytes;
    return offsets;
  }
  std::vector<std::string_view> elements;
  if (absl::Status s = core::SplitBytesElements(tensor.data, elements); !s.ok()) return s;
  const size_t per_row = elements.size() / static_cast<size_t>(total_rows);
  const auto* base = reinterpret_cast<const char*>(tensor.data.data());
  for (size_t r = 1; r <= static_cast<size_t>(total_rows); ++r) {
    const std::string_view last = elements[r * per_row - 1];
    offsets[r] = static_cast<size_t>(last.data() + last.size() - base);
  }
  return offsets;
}

}  // namespace

absl::StatusOr<std::vector<std::vector<core::Tensor>>> SplitBatch(
    const std::vector<core::Tensor>& outputs, std::span<const int64_t> rows) {
  const int64_t total = std::accumulate(rows.begin(), rows.end(), int64_t{0});
  std::vector<std::vector<core::Tensor>> pieces(rows.size());
  for (const core::Tensor& output : outputs) {
    if (output.shape.empty() || output.shape[0] != total) {
      return absl::InternalError(
          fmt::format("output '{}' has shape {} but the batch has {} rows; a batching "
                      "model must keep the batch dimension first",
                      output.name, core::ShapeToString(output.shape), total));
    }
    absl::StatusOr<std::vector<size_t>> offsets = RowOffsets(output, total);
    if (!offsets.ok()) return offsets.status();
    int64_t row = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      core::Tensor piece{output.name, output.dtype, output.shape, {}};
      piece.shape[0] = rows[i];
      piece.data.assign(output.data.begin() + static_cast<ptrdiff_t>((*offsets)[row]),
                        output.data.begin() + static_cast<ptrdiff_t>((*offsets)[row + rows[i]]));
      pieces[i].push_back(std::move(piece));
      row += rows[i];
    }
  }
  return pieces;
}

}  // namespace strata::serving
