// The result of `strata check`: one result per check (functional,
// statistical, error handling, load, end-to-end), each pass, fail or skipped
// with a reason and its figures, and the report's text and JSON forms.
// Value types and pure functions; thread-compatible.
#ifndef STRATA_CHECK_CHECK_REPORT_H_
#define STRATA_CHECK_CHECK_REPORT_H_

#include <string>
#include <string_view>
#include <vector>

namespace strata::check {

enum class CheckKind { kFunctional, kStatistical, kErrorHandling, kLoad, kEndToEnd };
enum class CheckStatus { kPass, kFail, kSkipped };

std::string_view CheckKindName(CheckKind kind);        // "functional", "error_handling", ...
std::string_view CheckStatusName(CheckStatus status);  // "pass", "fail", "skipped"

// One measured number, its unit in its name: {"psi", 0.04}, {"p99_ms", 3.1}.
struct Figure {
  std::string name;
  double value = 0;
};

struct CheckResult {
  CheckKind kind = CheckKind::kFunctional;
  CheckStatus status = CheckStatus::kSkipped;
  std::string reason;  // why it failed or was skipped, or what passed
  std::vector<Figure> figures;
};

struct CheckReport {
  std::string url;
  std::string model;
  std::string version;  // empty: the server's default version
  std::vector<CheckResult> results;

  // True when no check failed (skipped checks do not fail a report).
  bool Passed() const;
};

// Human text: a line per check, its figures indented below it.
std::string FormatReportText(const CheckReport& report);

// {"url":..., "model":..., "version":..., "passed":bool, "checks":[{"check":
// "functional", "status": "pass", "reason": ..., "figures": {"name": value}}]}
std::string FormatReportJson(const CheckReport& report);

}  // namespace strata::check

#endif  // STRATA_CHECK_CHECK_REPORT_H_
