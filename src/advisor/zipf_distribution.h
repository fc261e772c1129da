// ZipfDistribution is the law P(rank r) ~ r^-s over N keys, the usual model
// of peaked request streams (s = 0 is flat; larger s is more peaked). It
// gives the coverage of the top K keys and the entropy in closed form
// (exact sums for small ranks, Euler-Maclaurin beyond), for N up to 1e12.
// The advisor uses it to draw the regions of the peakedness-cardinality map.
// A value type; thread-safe.
#ifndef STRATA_ADVISOR_ZIPF_DISTRIBUTION_H_
#define STRATA_ADVISOR_ZIPF_DISTRIBUTION_H_

#include "advisor/coverage_curve.h"

namespace strata::advisor {

class ZipfDistribution {
 public:
  // REQUIRES: keys >= 1, exponent >= 0.
  ZipfDistribution(double keys, double exponent);

  // The Zipf law over `keys` keys whose peakedness (1 - entropy/log2 keys)
  // is `peakedness`, found by bisection on the exponent.
  static ZipfDistribution WithPeakedness(double keys, double peakedness);

  double keys() const { return keys_; }
  double exponent() const { return exponent_; }
  // Share of requests taken by the `k` heaviest keys.
  double Coverage(double k) const;
  double EntropyBits() const;
  double Peakedness() const;
  // Coverage at LogGrid(keys).
  CoverageCurve Curve() const;

 private:
  double keys_, exponent_;
  double harmonic_;  // sum_{r<=keys} r^-s
};

// sum_{r=1}^{k} r^-s, and sum_{r=1}^{k} r^-s ln r.
double GeneralizedHarmonic(double k, double s);
double GeneralizedHarmonicLog(double k, double s);

}  // namespace strata::advisor

#endif  // STRATA_ADVISOR_ZIPF_DISTRIBUTION_H_
