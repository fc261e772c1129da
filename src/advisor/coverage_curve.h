// CoverageCurve is the share of requests answered by the K most requested
// keys, as a function of K: a monotone piecewise-linear curve through
// measured points (K, share), with share(0) = 0. It is how the advisor
// turns a workload into a hit rate for a table or cache of K entries.
// A value type; const methods are thread-safe.
#ifndef STRATA_ADVISOR_COVERAGE_CURVE_H_
#define STRATA_ADVISOR_COVERAGE_CURVE_H_

#include <vector>

namespace strata::advisor {

struct CoveragePoint {
  double keys = 0;   // K, the number of heaviest keys
  double share = 0;  // in [0, 1]
};

class CoverageCurve {
 public:
  CoverageCurve() = default;
  // Points in increasing `keys`; shares are made non-decreasing and
  // clamped to [0, 1].
  explicit CoverageCurve(std::vector<CoveragePoint> points);

  // The share covered by the top `keys` keys; 1 past the last point's
  // share when the curve reaches 1, else the last point's share.
  double ShareAt(double keys) const;
  // The smallest K whose share reaches `share` (the last point's K when
  // it never does).
  double KeysFor(double share) const;

  // The number of distinct keys the curve spans (its last point's K).
  double total_keys() const { return points_.empty() ? 0 : points_.back().keys; }
  const std::vector<CoveragePoint>& points() const { return points_; }

 private:
  std::vector<CoveragePoint> points_;
};

// K values for evaluating a curve of `total` keys: every integer up to 10,
// then `per_decade` log-spaced values per power of ten, ending at `total`.
std::vector<double> LogGrid(double total, int per_decade = 20);

}  // namespace strata::advisor

#endif  // STRATA_ADVISOR_COVERAGE_CURVE_H_
