#include "batch/verifier.h"

#include "gtest/gtest.h"

namespace strata::batch {
namespace {

store::OutputStats Stats(double min, double max, double mean, int64_t nan = 0) {
  store::OutputStats s;
  s.name = "y";
  s.count = 100;
  s.nan = nan;
  s.min = min;
  s.max = max;
  s.mean = mean;
  return s;
}

bool Failed(const store::VerificationReport& r, const std::string& name) {
  for (const auto& c : r.checks) {
    if (c.name == name) return !c.passed;
  }
  return false;
}

TEST(VerifierTest, PassesWithinExpectations) {
  Expectations e;
  e.min_rows = 100;
  e.min_value = 0;
  e.max_value = 1;
  const auto r = Verify({Stats(0, 1, 0.5)}, 100, 0, e, nullptr, std::nullopt);
  EXPECT_TRUE(r.passed);
}

TEST(VerifierTest, EachCheckFailsOnItsOwn) {
  Expectations e;
  e.min_rows = 101;
  EXPECT_TRUE(Failed(Verify({Stats(0, 1, 0.5)}, 100, 0, e, nullptr, std::nullopt), "rows"));
  e = {};
  EXPECT_TRUE(Failed(Verify({Stats(0, 1, 0.5, 1)}, 100, 0, e, nullptr, std::nullopt), "nan"));
  e.max_value = 0.9;
  EXPECT_TRUE(Failed(Verify({Stats(0, 1, 0.5)}, 100, 0, e, nullptr, std::nullopt), "range"));
  e = {};
  e.max_mean = 0.4;
  EXPECT_TRUE(Failed(Verify({Stats(0, 1, 0.5)}, 100, 0, e, nullptr, std::nullopt), "mean"));
  e = {};
  store::TableManifest previous;
  previous.version = 4;
  const auto r = Verify({Stats(0, 1, 0.5)}, 100, 0, e, &previous, 0.3);
  EXPECT_TRUE(Failed(r, "psi"));
  EXPECT_EQ(r.previous_version, 4);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(Failed(Verify({Stats(0, 1, 0.5)}, 0, 0, e, nullptr, std::nullopt), "rows"));
}

}  // namespace
}  // namespace strata::batch
