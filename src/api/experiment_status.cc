#include "api/experiment_status.h"

#include "core/text_escape.h"
#include "fmt/format.h"

namespace strata::api {
namespace {

using core::HtmlEscape;

std::string ArmFigure(const serving::ArmOutcomes& arm) {
  const serving::OutcomeSums& s = arm.sums;
  if (s.labels > 0) {
    return fmt::format("accuracy {:.3f} (n={})",
                       static_cast<double>(s.correct) / static_cast<double>(s.labels), s.labels);
  }
  if (s.regression_labels > 0) {
    return fmt::format("mean absolute error {:.4g} (n={})",
                       s.abs_error_sum / static_cast<double>(s.regression_labels),
                       s.regression_labels);
  }
  return fmt::format("mean reward {:.4g} (n={})",
                     s.rewards == 0 ? 0.0 : s.reward_sum / static_cast<double>(s.rewards),
                     s.rewards);
}

void AppendEndpoint(const serving::ExperimentReport& r, std::string& out) {
  std::string details;
  for (const serving::ArmOutcomes& arm : r.arms) {
    details += fmt::format("{}{}: {}", details.empty() ? "" : "; ",
                           HtmlEscape(arm.arm.empty() ? arm.version : arm.arm + "@" + arm.version),
                           ArmFigure(arm));
  }
  for (const serving::ShadowPairStats& s : r.shadows) {
    const double rows = s.rows == 0 ? 1.0 : static_cast<double>(s.rows);
    details += fmt::format("{}shadow {} of {}: {} rows, {:.2f}% differ, mean |difference| {:.4g}",
                           details.empty() ? "" : "; ", HtmlEscape(s.shadow), HtmlEscape(s.primary),
                           s.rows, 100.0 * static_cast<double>(s.disagreeing_rows) / rows,
                           s.score_difference_sum / rows);
  }
  for (const serving::ShadowTraffic& t : r.shadow_traffic) {
    details += fmt::format(
        "{}shadow {}: {} sent, {} dropped ({} queue full, {} primary busy, {} over "
        "budget), {} failed",
        details.empty() ? "" : "; ", HtmlEscape(t.shadow), t.requests, t.dropped, t.queue_full,
        t.primary_busy, t.over_budget, t.errors);
  }
  out += fmt::format(
      "<tr><td><a href=\"/v2/models/{0}/experiment\">{0}</a></td><td class=num>{1}</td>"
      "<td class=num>{2}</td><td class=muted>{3}</td></tr>",
      HtmlEscape(r.endpoint), r.feedback_joined, r.feedback_unmatched, details);
}

}  // namespace

void AppendExperimentSection(const serving::Experiments& experiments, std::string& out) {
  const std::vector<std::string> names = experiments.Endpoints();
  if (names.empty()) return;
  out +=
      "<h2>Experiments (feedback and shadows)</h2><table><tr><th>endpoint</th>"
      "<th class=num>feedback joined</th><th class=num>unmatched</th><th>figures</th></tr>";
  for (const std::string& name : names) {
    absl::StatusOr<serving::ExperimentReport> report = experiments.Report(name);
    if (report.ok()) AppendEndpoint(*report, out);
  }
  out += "</table>";
}

}  // namespace strata::api
