#include "serving/classification.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>

#include "core/status_macros.h"
#include "fmt/format.h"

namespace strata::serving {
namespace {

using core::DataType;

constexpr std::string_view kParameter = "classification";

// Integers and FP32/FP64: not BOOL, FP16, BF16 or BYTES.
template <typename Tag>
constexpr bool kRankable = Tag::kIsInteger || Tag::kIsFloat;

bool Rankable(DataType dtype) {
  return core::VisitDataType(dtype, [](auto tag) { return kRankable<decltype(tag)>; });
}

absl::Status NotRankable(std::string_view output, DataType dtype) {
  return absl::InvalidArgumentError(
      fmt::format("output '{}' is {}; classification ranks numeric outputs (INT8..INT64, "
                  "UINT8..UINT64, FP32, FP64)",
                  output, core::DataTypeName(dtype)));
}

// Larger first; NaN after every number.
template <typename T>
bool Before(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
  }
  return a > b;
}

// As std::to_string writes it: "0.750000" for floating point.
template <typename T>
std::string ValueText(T value) {
  if constexpr (std::is_floating_point_v<T>) {
    return fmt::format("{:f}", value);
  } else {
    return fmt::format(
        "{}", static_cast<std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>(value));
  }
}

// Appends the top `k` of `row` to `out`, one BYTES element each.
template <typename T>
void AppendTopK(std::span<const T> row, size_t k, std::span<const std::string> labels,
                std::vector<size_t>& order, std::vector<uint8_t>& out) {
  order.resize(row.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&row](size_t i, size_t j) { return Before(row[i], row[j]); });
  for (size_t n = 0; n < k; ++n) {
    const size_t index = order[n];
    std::string text = fmt::format("{}:{}", ValueText(row[index]), index);
    if (index < labels.size() && !labels[index].empty()) {
      text += ':';
      text += labels[index];
    }
    core::AppendBytesElement(text, out);
  }
}

template <typename T>
core::Tensor TopK(const core::Tensor& output, int64_t rows, int64_t count,
                  std::span<const std::string> labels, bool batched) {
  const std::span<const T> values = output.As<T>();
  const size_t width = rows == 0 ? 0 : values.size() / static_cast<size_t>(rows);
  const size_t k = std::min(width, static_cast<size_t>(count));
  core::Tensor classes;
  classes.name = output.name;
  classes.dtype = DataType::kBytes;
  classes.shape =
      batched ? core::Shape{rows, static_cast<int64_t>(k)} : core::Shape{static_cast<int64_t>(k)};
  std::vector<size_t> order;
  for (int64_t r = 0; r < rows; ++r) {
    AppendTopK(values.subspan(static_cast<size_t>(r) * width, width), k, labels, order,
               classes.data);
  }
  return classes;
}

}  // namespace

absl::StatusOr<std::vector<Classification>> TakeClassifications(core::InferRequest& request) {
  std::vector<Classification> classifications;
  for (core::RequestedOutput& output : request.outputs) {
    auto it = output.parameters.find(kParameter);
    if (it == output.parameters.end()) continue;
    const int64_t* count = std::get_if<int64_t>(&it->second);
    if (count == nullptr || *count < 1) {
      return absl::InvalidArgumentError(fmt::format(
          "output '{}': parameter 'classification' must be a positive integer (the number "
          "of top classes)",
          output.name));
    }
    classifications.push_back({output.name, *count});
    output.parameters.erase(it);
  }
  return classifications;
}

absl::Status CheckClassifiable(std::span<const Classification> classifications,
                               std::span<const runtime::TensorSpec> outputs) {
  for (const Classification& c : classifications) {
    auto spec = std::find_if(outputs.begin(), outputs.end(),
                             [&c](const runtime::TensorSpec& s) { return s.name == c.output; });
    if (spec == outputs.end()) continue;  // the output selection reports unknown names
    if (!Rankable(spec->dtype)) return NotRankable(c.output, spec->dtype);
  }
  return absl::OkStatus();
}

absl::StatusOr<core::Tensor> Classify(const core::Tensor& output, int64_t count, bool batched,
                                      std::span<const std::string> labels) {
  batched = batched && !output.shape.empty();
  const int64_t rows = batched ? output.shape[0] : 1;
  return core::VisitDataType(output.dtype, [&](auto tag) -> absl::StatusOr<core::Tensor> {
    using Tag = decltype(tag);
    if constexpr (kRankable<Tag>) {
      return TopK<typename Tag::Element>(output, rows, count, labels, batched);
    } else {
      return NotRankable(output.name, output.dtype);
    }
  });
}

absl::Status ApplyClassifications(std::span<const Classification> classifications, bool batched,
                                  std::span<const runtime::TensorSpec> specs,
                                  core::InferResponse& response) {
  for (const Classification& c : classifications) {
    auto output = std::find_if(response.outputs.begin(), response.outputs.end(),
                               [&c](const core::Tensor& t) { return t.name == c.output; });
    if (output == response.outputs.end()) continue;
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&c](const runtime::TensorSpec& s) { return s.name == c.output; });
    const std::span<const std::string> labels =
        spec == specs.end() ? std::span<const std::string>{} : spec->labels;
    STRATA_ASSIGN_OR_RETURN(*output, Classify(*output, c.count, batched, labels));
  }
  return absl::OkStatus();
}

}  // namespace strata::serving
