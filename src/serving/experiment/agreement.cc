#include "serving/experiment/agreement.h"

#include <algorithm>
#include <cmath>

#include "fmt/format.h"
#include "serving/experiment/scores.h"

namespace strata::serving {
namespace {

const core::Tensor* OutputNamed(const core::InferResponse& response, const std::string& name) {
  for (const core::Tensor& t : response.outputs) {
    if (t.name == name) return &t;
  }
  return response.outputs.empty() ? nullptr : &response.outputs.front();
}

RowAgreement CompareRow(std::span<const double> a, std::span<const double> b) {
  RowAgreement row{.class_differs = PredictedClass(a) != PredictedClass(b)};
  for (size_t i = 0; i < a.size(); ++i) {
    row.score_difference = std::max(row.score_difference, std::fabs(a[i] - b[i]));
  }
  return row;
}

}  // namespace

absl::StatusOr<std::vector<RowAgreement>> CompareResponses(
    const core::InferResponse& primary, const core::InferResponse& shadow,
    const std::optional<std::vector<size_t>>& rows) {
  if (primary.outputs.empty()) return absl::InvalidArgumentError("the primary has no outputs");
  const core::Tensor* other = OutputNamed(shadow, primary.outputs.front().name);
  if (other == nullptr) return absl::InvalidArgumentError("the shadow has no outputs");
  absl::StatusOr<ScoreMatrix> a = ScoresOf(primary.outputs.front());
  if (!a.ok()) return a.status();
  absl::StatusOr<ScoreMatrix> b = ScoresOf(*other);
  if (!b.ok()) return b.status();
  if (a->rows != b->rows || a->width != b->width) {
    return absl::InvalidArgumentError(
        fmt::format("the shadow answered {} rows of {} scores; the primary {} rows of {}", b->rows,
                    b->width, a->rows, a->width));
  }
  std::vector<RowAgreement> out;
  if (!rows) {
    for (size_t r = 0; r < a->rows; ++r) out.push_back(CompareRow(a->Row(r), b->Row(r)));
    return out;
  }
  for (size_t r : *rows) {
    if (r < a->rows) out.push_back(CompareRow(a->Row(r), b->Row(r)));
  }
  return out;
}

}  // namespace strata::serving
