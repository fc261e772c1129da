#include "check/prometheus_text.h"

#include "gtest/gtest.h"

namespace strata::check {
namespace {

constexpr const char* kText =
    "# HELP strata_inference_requests_total Inference requests\n"
    "# TYPE strata_inference_requests_total counter\n"
    "strata_inference_requests_total{model=\"m\",outcome=\"success\",version=\"1\"} 10\n"
    "strata_inference_requests_total{model=\"m\",outcome=\"client_error\",version=\"1\"} 2\n"
    "strata_inference_requests_total{model=\"m\",outcome=\"success\",version=\"2\"} 5\n"
    "strata_inference_requests_total{model=\"mm\",outcome=\"success\",version=\"1\"} 100\n"
    "strata_inference_requests_total_other{model=\"m\"} 1000\n"
    "up 1\n";

TEST(PrometheusTextTest, SumsTheSeriesWithTheLabels) {
  const auto name = "strata_inference_requests_total";
  EXPECT_EQ(SumSeries(kText, name, {{"model", "m"}}), 17);
  EXPECT_EQ(SumSeries(kText, name, {{"model", "m"}, {"version", "1"}}), 12);
  EXPECT_EQ(SumSeries(kText, name, {{"model", "mm"}}), 100);
  EXPECT_EQ(SumSeries(kText, name, {{"model", "none"}}), std::nullopt);
  EXPECT_EQ(SumSeries(kText, "up", {}), 1);
  EXPECT_EQ(SumSeries("", name, {}), std::nullopt);
}

}  // namespace
}  // namespace strata::check
