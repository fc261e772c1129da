#include "advisor/advisor_chart.h"

#include <string>

#include "advisor/zipf_distribution.h"
#include "gtest/gtest.h"

namespace strata::advisor {
namespace {

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(AdvisorChartTest, DrawsRegionsPointAndCurve) {
  CostModel model({});
  PlanMap map = PlanMap::Compute(
      model, 1000, {.min_log10_keys = 1, .max_log10_keys = 10, .columns = 9, .rows = 6});
  ZipfDistribution zipf(1e6, 1.0);
  WorkloadProfile profile;
  profile.cardinality = 1e6;
  profile.peakedness = zipf.Peakedness();
  profile.entropy_bits = zipf.EntropyBits();
  profile.coverage = zipf.Curve();
  Recommendation r = model.Recommend(profile);
  ChartInput input{.title = "purchase <&>",
                   .map = &map,
                   .cardinality = 1e6,
                   .peakedness = profile.peakedness,
                   .coverage = &profile.coverage,
                   .recommendation = &r};
  const std::string svg = RenderAdvisorChart(input);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(Count(svg, "fill-opacity=\"0.55\""), 9u * 6u);  // one cell each
  EXPECT_NE(svg.find("this workload"), std::string::npos);
  EXPECT_NE(svg.find("<path d=\"M"), std::string::npos);
  EXPECT_NE(svg.find("purchase &lt;&amp;&gt;"), std::string::npos);
  EXPECT_NE(svg.find("K = "), std::string::npos);
  EXPECT_EQ(Count(svg, "<svg"), 1u);
}

}  // namespace
}  // namespace strata::advisor
