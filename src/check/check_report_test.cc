#include "check/check_report.h"

#include <cmath>

#include "gtest/gtest.h"

namespace strata::check {
namespace {

CheckReport Report(CheckStatus load) {
  CheckReport report;
  report.url = "http://127.0.0.1:1";
  report.model = "m";
  report.version = "2";
  report.results = {
      {CheckKind::kFunctional, CheckStatus::kPass, "1 sample(s) match", {{"samples", 1}}},
      {CheckKind::kEndToEnd, CheckStatus::kSkipped, "no /metrics", {}},
      {CheckKind::kLoad, load, "p99", {{"p99_ms", 2.5}, {"nan", std::nan("")}}}};
  return report;
}

TEST(CheckReportTest, SkippedDoesNotFailAFailDoes) {
  EXPECT_TRUE(Report(CheckStatus::kPass).Passed());
  EXPECT_FALSE(Report(CheckStatus::kFail).Passed());
}

TEST(CheckReportTest, TextHasALinePerCheckAndTheResult) {
  const std::string text = FormatReportText(Report(CheckStatus::kFail));
  EXPECT_NE(text.find("PASS     functional"), std::string::npos) << text;
  EXPECT_NE(text.find("SKIPPED  end_to_end      no /metrics"), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL     load"), std::string::npos) << text;
  EXPECT_NE(text.find("p99_ms          2.5"), std::string::npos) << text;
  EXPECT_NE(text.find("result: FAIL"), std::string::npos) << text;
}

TEST(CheckReportTest, JsonIsMachineReadableEvenWithNan) {
  const std::string json = FormatReportJson(Report(CheckStatus::kPass));
  EXPECT_NE(json.find(R"("passed":true)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"({"check":"end_to_end","status":"skipped","reason":"no /metrics")"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("p99_ms":2.5,"nan":null)"), std::string::npos) << json;
}

}  // namespace
}  // namespace strata::check
