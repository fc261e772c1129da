#include <cmath>
#include <vector>

#include "advisor/zipf_distribution.h"
#include "advisor/zipf_sampler.h"
#include "gtest/gtest.h"

namespace strata::advisor {
namespace {

double ExactHarmonic(double k, double s) {
  double sum = 0;
  for (double r = 1; r <= k; ++r) sum += std::pow(r, -s);
  return sum;
}

TEST(ZipfDistributionTest, HarmonicSumsMatchExactSums) {
  for (double s : {0.0, 0.5, 0.8, 1.0, 1.2, 2.0}) {
    for (double k : {50.0, 5'000.0, 2'000'000.0}) {
      EXPECT_NEAR(GeneralizedHarmonic(k, s) / ExactHarmonic(k, s), 1.0, 1e-9)
          << "s=" << s << " k=" << k;
    }
  }
}

TEST(ZipfDistributionTest, FlatLawHasFullEntropy) {
  ZipfDistribution flat(1'000'000, 0);
  EXPECT_NEAR(flat.EntropyBits(), std::log2(1e6), 1e-6);
  EXPECT_NEAR(flat.Peakedness(), 0, 1e-6);
  EXPECT_NEAR(flat.Coverage(250'000), 0.25, 1e-9);
}

TEST(ZipfDistributionTest, EntropyMatchesDirectSum) {
  const double s = 1.0, n = 100'000;
  const double h = ExactHarmonic(n, s);
  double entropy = 0;
  for (double r = 1; r <= n; ++r) {
    const double p = std::pow(r, -s) / h;
    entropy -= p * std::log2(p);
  }
  EXPECT_NEAR(ZipfDistribution(n, s).EntropyBits(), entropy, 1e-6);
}

TEST(ZipfDistributionTest, WithPeakednessInvertsPeakedness) {
  for (double keys : {1e3, 1e6, 1e9}) {
    for (double peakedness : {0.05, 0.3, 0.7, 0.95}) {
      ZipfDistribution zipf = ZipfDistribution::WithPeakedness(keys, peakedness);
      EXPECT_NEAR(zipf.Peakedness(), peakedness, 1e-4) << keys;
    }
  }
}

TEST(ZipfSamplerTest, FrequenciesFollowTheLaw) {
  const uint64_t keys = 10'000'000;
  ZipfSampler sampler(keys, 1.0, 9);
  std::vector<int> hits(4, 0);
  const int draws = 2'000'000;
  for (int i = 0; i < draws; ++i) {
    const uint64_t rank = sampler.Next();
    ASSERT_GE(rank, 1u);
    ASSERT_LE(rank, keys);
    if (rank <= 3) ++hits[rank];
  }
  const double h = GeneralizedHarmonic(keys, 1.0);
  for (int rank = 1; rank <= 3; ++rank) {
    const double expected = draws / (rank * h);
    EXPECT_NEAR(hits[rank], expected, 5 * std::sqrt(expected)) << rank;
  }
}

}  // namespace
}  // namespace strata::advisor
