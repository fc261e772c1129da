#include "check/check_report.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "fmt/format.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace strata::check {

std::string_view CheckKindName(CheckKind kind) {
  switch (kind) {
    case CheckKind::kFunctional:
      return "functional";
    case CheckKind::kStatistical:
      return "statistical";
    case CheckKind::kErrorHandling:
      return "error_handling";
    case CheckKind::kLoad:
      return "load";
    case CheckKind::kEndToEnd:
      return "end_to_end";
  }
  return "unknown";
}

std::string_view CheckStatusName(CheckStatus status) {
  switch (status) {
    case CheckStatus::kPass:
      return "pass";
    case CheckStatus::kFail:
      return "fail";
    case CheckStatus::kSkipped:
      return "skipped";
  }
  return "unknown";
}

bool CheckReport::Passed() const {
  return std::none_of(results.begin(), results.end(),
                      [](const CheckResult& r) { return r.status == CheckStatus::kFail; });
}

std::string FormatReportText(const CheckReport& report) {
  std::string text = fmt::format("strata check: {} at {} (version {})\n", report.model, report.url,
                                 report.version.empty() ? "default" : report.version);
  for (const CheckResult& r : report.results) {
    const std::string status = absl::AsciiStrToUpper(std::string(CheckStatusName(r.status)));
    text += fmt::format("  {:<8} {:<15} {}\n", status, CheckKindName(r.kind), r.reason);
    for (const Figure& f : r.figures) {
      text += fmt::format("           {:<15} {:.6g}\n", f.name, f.value);
    }
  }
  text += report.Passed() ? "result: PASS\n" : "result: FAIL\n";
  return text;
}

std::string FormatReportJson(const CheckReport& report) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("url");
  w.String(report.url.c_str());
  w.Key("model");
  w.String(report.model.c_str());
  w.Key("version");
  w.String(report.version.c_str());
  w.Key("passed");
  w.Bool(report.Passed());
  w.Key("checks");
  w.StartArray();
  for (const CheckResult& r : report.results) {
    w.StartObject();
    w.Key("check");
    w.String(CheckKindName(r.kind).data());
    w.Key("status");
    w.String(CheckStatusName(r.status).data());
    w.Key("reason");
    w.String(r.reason.c_str());
    w.Key("figures");
    w.StartObject();
    for (const Figure& f : r.figures) {
      w.Key(f.name.c_str());
      if (std::isfinite(f.value)) {
        w.Double(f.value);
      } else {
        w.Null();  // JSON has no NaN
      }
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace strata::check
