#include "serving/experiment/scores.h"

#include <algorithm>

#include "core/datatype.h"
#include "fmt/format.h"

namespace strata::serving {

int PredictedClass(std::span<const double> scores) {
  if (scores.size() == 1) return scores[0] >= 0.5 ? 1 : 0;
  return static_cast<int>(std::max_element(scores.begin(), scores.end()) - scores.begin());
}

int ScoreMatrix::PredictedClass(size_t row) const { return serving::PredictedClass(Row(row)); }

absl::StatusOr<ScoreMatrix> ScoresOf(const core::Tensor& output) {
  if (output.shape.empty() || output.shape[0] < 1) {
    return absl::InvalidArgumentError(fmt::format("output '{}' has no rows", output.name));
  }
  ScoreMatrix m;
  const bool numeric = core::VisitDataType(output.dtype, [&](auto tag) {
    using Tag = decltype(tag);
    if constexpr (Tag::kIsInteger || Tag::kIsFloat) {
      for (auto v : output.As<typename Tag::Element>()) m.values.push_back(static_cast<double>(v));
      return true;
    } else {
      return false;
    }
  });
  if (!numeric) {
    return absl::InvalidArgumentError(
        fmt::format("output '{}' is not numeric; scores need numbers", output.name));
  }
  m.rows = static_cast<size_t>(output.shape[0]);
  m.width = m.values.size() / m.rows;
  if (m.width == 0 || m.width * m.rows != m.values.size()) {
    return absl::InvalidArgumentError(
        fmt::format("output '{}' does not hold the same number of scores per row", output.name));
  }
  return m;
}

}  // namespace strata::serving
