#include "advisor/cost_model.h"

#include <string>

#include "advisor/plan_map.h"
#include "advisor/zipf_distribution.h"
#include "gtest/gtest.h"

namespace strata::advisor {
namespace {

// A workload of `keys` keys following a Zipf law of `exponent`.
WorkloadProfile ZipfProfile(double keys, double exponent, bool declared, double rate = 1000) {
  ZipfDistribution zipf(keys, exponent);
  WorkloadProfile p;
  p.cardinality = keys;
  p.declared = declared;
  p.entropy_bits = zipf.EntropyBits();
  p.peakedness = zipf.Peakedness();
  p.requests_per_second = rate;
  p.coverage = zipf.Curve();
  return p;
}

CostModelOptions Options() {
  CostModelOptions o;
  o.figures.model_us_per_row = 300;
  o.figures.model_p99_us = 1500;
  o.figures.lookup_us = 5;
  o.figures.bytes_per_entry = 64;
  o.budgets.memory_bytes = 4.0 * (1 << 30);
  return o;
}

TEST(CostModelTest, SmallKnownKeySpaceIsStatic) {
  // The sales forecast: 100 stores x 1,000 products x 7 days.
  Recommendation r = CostModel(Options()).Recommend(ZipfProfile(700'000, 0.3, true));
  EXPECT_EQ(r.chosen, Plan::kStatic) << r.reason;
  EXPECT_EQ(r.static_plan.hit_rate, 1.0);
  EXPECT_LT(r.static_plan.p99_us, 100);
  EXPECT_NE(r.reason.find("static"), std::string::npos);
}

TEST(CostModelTest, PeakedHugeKeySpaceIsHybrid) {
  // Next-word prediction: a few phrases dominate a vast space.
  Recommendation r = CostModel(Options()).Recommend(ZipfProfile(5e9, 1.1, false));
  EXPECT_EQ(r.chosen, Plan::kHybrid) << r.reason;
  EXPECT_FALSE(r.static_plan.feasible);
  EXPECT_GT(r.hybrid.hit_rate, 0.5);
  EXPECT_LT(r.hybrid.memory_bytes, Options().budgets.memory_bytes);
  EXPECT_LT(r.hybrid.cpu_seconds_per_million, r.dynamic.cpu_seconds_per_million / 2);
}

TEST(CostModelTest, FlatHugeKeySpaceIsDynamic) {
  // Spam detection: every message is new.
  WorkloadProfile p = ZipfProfile(1e10, 0.05, false);
  p.unseen_share = 0.99;
  Recommendation r = CostModel(Options()).Recommend(p);
  EXPECT_EQ(r.chosen, Plan::kDynamic) << r.reason;
  EXPECT_EQ(r.dynamic.hit_rate, 0);
  EXPECT_EQ(r.dynamic.memory_bytes, 0);
}

TEST(CostModelTest, UnseenKeysDisqualifyAnUndeclaredStaticPlan) {
  WorkloadProfile p = ZipfProfile(1'000, 0.5, false);
  p.unseen_share = 0.05;
  PlanEstimate s = CostModel(Options()).Static(p);
  EXPECT_FALSE(s.feasible);
  EXPECT_NE(s.why_not.find("default"), std::string::npos) << s.why_not;
}

TEST(CostModelTest, LatencyObjectiveDrivesTheHitRate) {
  // A p99 objective below the model's p50 leaves room for about 1% of
  // requests to reach the model: the table must grow until it does.
  CostModelOptions o = Options();
  WorkloadProfile p = ZipfProfile(1e8, 1.3, false);
  const PlanEstimate free = CostModel(o).Hybrid(p);
  o.budgets.p99_objective_us = 200;
  CostModel model(o);
  PlanEstimate h = model.Hybrid(p);
  EXPECT_TRUE(h.feasible) << h.why_not;
  EXPECT_LE(h.p99_us, 200);
  EXPECT_GE(h.hit_rate, 0.98);
  EXPECT_GT(h.table_keys, free.table_keys);
  EXPECT_FALSE(model.Dynamic(p).feasible);
}

TEST(CostModelTest, MixedLatencyQuantiles) {
  CostModel model(Options());
  WorkloadProfile p = ZipfProfile(1e7, 1.0, false);
  PlanEstimate k = model.HybridWith(p, 100'000);
  ASSERT_LT(k.hit_rate, 0.99);
  ASSERT_GT(k.hit_rate, 0.5);
  EXPECT_NEAR(k.p50_us, 30 + 5, 1e-9);  // a hit
  EXPECT_GT(k.p99_us, 300);             // a model answer
}

TEST(PlanMapTest, RegionsAreWhereTheyBelong) {
  CostModel model(Options());
  PlanMap map = PlanMap::Compute(
      model, 1000, {.min_log10_keys = 1, .max_log10_keys = 10, .columns = 18, .rows = 10});
  EXPECT_EQ(map.At(3, 0.1), Plan::kStatic);
  EXPECT_EQ(map.At(9.8, 0.05), Plan::kDynamic);
  EXPECT_EQ(map.At(9.8, 0.6), Plan::kHybrid);
}

TEST(FormatTest, HumanUnits) {
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatMicros(2500), "2.50 ms");
  EXPECT_EQ(FormatCount(1234567), "1,234,567");
}

}  // namespace
}  // namespace strata::advisor
