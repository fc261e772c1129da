#include "advisor/coverage_curve.h"

#include <algorithm>
#include <cmath>

namespace strata::advisor {

CoverageCurve::CoverageCurve(std::vector<CoveragePoint> points) {
  double share = 0, keys = 0;
  for (CoveragePoint p : points) {
    if (!(p.keys > keys)) continue;
    share = std::clamp(std::max(share, p.share), 0.0, 1.0);
    keys = p.keys;
    points_.push_back({.keys = keys, .share = share});
  }
}

double CoverageCurve::ShareAt(double keys) const {
  if (points_.empty() || keys <= 0) return 0;
  if (keys >= points_.back().keys) return points_.back().share;
  auto it = std::lower_bound(points_.begin(), points_.end(), keys,
                             [](const CoveragePoint& p, double k) { return p.keys < k; });
  const CoveragePoint hi = *it;
  const CoveragePoint lo = it == points_.begin() ? CoveragePoint{} : *(it - 1);
  const double t = (keys - lo.keys) / (hi.keys - lo.keys);
  return lo.share + t * (hi.share - lo.share);
}

double CoverageCurve::KeysFor(double share) const {
  if (points_.empty() || share <= 0) return 0;
  auto it = std::lower_bound(points_.begin(), points_.end(), share,
                             [](const CoveragePoint& p, double s) { return p.share < s; });
  if (it == points_.end()) return points_.back().keys;
  const CoveragePoint hi = *it;
  const CoveragePoint lo = it == points_.begin() ? CoveragePoint{} : *(it - 1);
  if (hi.share <= lo.share) return hi.keys;
  const double t = (share - lo.share) / (hi.share - lo.share);
  return std::ceil(lo.keys + t * (hi.keys - lo.keys));
}

std::vector<double> LogGrid(double total, int per_decade) {
  std::vector<double> grid;
  if (total < 1) return grid;
  for (double k = 1; k <= std::min(total, 10.0); k += 1) grid.push_back(k);
  for (int i = 1;; ++i) {
    const double k = std::round(10.0 * std::pow(10.0, static_cast<double>(i) / per_decade));
    if (k >= total) break;
    if (k > grid.back()) grid.push_back(k);
  }
  if (grid.back() < total) grid.push_back(total);
  return grid;
}

}  // namespace strata::advisor
