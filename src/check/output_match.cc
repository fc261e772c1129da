#include "check/output_match.h"

#include <algorithm>
#include <cmath>

#include "fmt/format.h"
#include "fmt/ranges.h"

namespace strata::check {
namespace {

std::optional<OutputMismatch> CompareOne(const JsonTensor& e, const JsonTensor& a,
                                         double tolerance) {
  if (e.shape != a.shape || e.data.size() != a.data.size()) {
    return OutputMismatch{e.name, fmt::format("shape [{}] expected, got [{}]",
                                              fmt::join(e.shape, ", "), fmt::join(a.shape, ", "))};
  }
  const int64_t per_row = std::max<int64_t>(1, ElementsPerRow(e));
  for (size_t i = 0; i < e.data.size(); ++i) {
    const double allowed = tolerance * std::max(1.0, std::abs(e.data[i]));
    if (std::abs(a.data[i] - e.data[i]) <= allowed) continue;
    const int64_t index = static_cast<int64_t>(i);
    return OutputMismatch{
        e.name, fmt::format("row {} element {}: expected {:.9g}, got {:.9g} (tolerance {:g})",
                            index / per_row, index % per_row, e.data[i], a.data[i], tolerance)};
  }
  return std::nullopt;
}

}  // namespace

std::optional<OutputMismatch> FindMismatch(const std::vector<JsonTensor>& expected,
                                           const std::vector<JsonTensor>& actual,
                                           double tolerance) {
  for (const JsonTensor& e : expected) {
    const auto found = std::find_if(actual.begin(), actual.end(),
                                    [&](const JsonTensor& a) { return a.name == e.name; });
    if (found == actual.end()) return OutputMismatch{e.name, "missing from the response"};
    if (auto mismatch = CompareOne(e, *found, tolerance)) return mismatch;
  }
  return std::nullopt;
}

}  // namespace strata::check
