#include "advisor/advisor_report.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/text_escape.h"
#include "fmt/format.h"

namespace strata::advisor {

using core::JsonString;
namespace {

constexpr size_t kTopKeys = 10;

// The coverage curve at 1, 10, 100, ... keys and at the hybrid's K.
std::vector<CoveragePoint> Milestones(const CoverageCurve& curve) {
  std::vector<CoveragePoint> points;
  for (double k = 1; k < curve.total_keys(); k *= 10) {
    points.push_back({.keys = k, .share = curve.ShareAt(k)});
  }
  if (curve.total_keys() > 0) {
    points.push_back({.keys = curve.total_keys(), .share = curve.ShareAt(curve.total_keys())});
  }
  return points;
}

std::string Json(double v) {
  if (!std::isfinite(v)) return "null";
  return fmt::format("{}", v);
}

std::string PlanJson(const PlanEstimate& p) {
  return fmt::format(
      R"({{"table_keys":{},"hit_rate":{},"p50_us":{},"p99_us":{},"memory_bytes":{},)"
      R"("cpu_seconds_per_million":{},"cost_per_hour":{},"feasible":{},"why_not":{}}})",
      Json(p.table_keys), Json(p.hit_rate), Json(p.p50_us), Json(p.p99_us), Json(p.memory_bytes),
      Json(p.cpu_seconds_per_million), Json(p.cost_per_hour), p.feasible ? "true" : "false",
      JsonString(p.why_not));
}

std::string PlanRow(const PlanEstimate& p, bool chosen) {
  return fmt::format("  {:<8} {:>14} {:>8.1f}% {:>9} {:>9} {:>11} {:>12.1f} {:>9.4f}  {}{}\n",
                     PlanName(p.plan), FormatCount(p.table_keys), 100 * p.hit_rate,
                     FormatMicros(p.p50_us), FormatMicros(p.p99_us), FormatBytes(p.memory_bytes),
                     p.cpu_seconds_per_million, p.cost_per_hour, chosen ? "<- recommended" : "",
                     p.feasible ? "" : fmt::format("  ({})", p.why_not));
}

}  // namespace

std::string RenderText(const AdvisorReport& r) {
  const WorkloadStats& s = r.stats;
  const CostFigures& f = r.options.figures;
  const Recommendation& rec = r.recommendation;
  std::string out = fmt::format("strata advise: endpoint '{}' ({})\n\n", r.endpoint, r.source);
  out += "workload\n";
  out += fmt::format(
      "  requests        {}{}{}\n", FormatCount(static_cast<double>(s.requests)),
      r.sample < 1 ? fmt::format(" logged (a {:.3g} sample)", r.sample) : "",
      s.requests_per_second > 0 ? fmt::format(", {:.0f} requests/s", s.requests_per_second) : "");
  out += fmt::format("  distinct keys   {} ({})\n", FormatCount(s.distinct_keys),
                     s.distinct_exact ? "counted" : "HyperLogLog estimate, ±0.4%");
  out += fmt::format("  key space       {} ({})\n", FormatCount(r.profile.cardinality),
                     r.profile.declared ? "declared" : "the distinct keys seen");
  out += fmt::format("  entropy         {:.2f} bits; peakedness {:.2f} (0 flat, 1 a single key)\n",
                     s.entropy_bits, r.profile.peakedness);
  out += fmt::format("  unseen share    {:.1f}% of requests were a key's first\n",
                     100 * s.unseen_share);
  out += "  coverage        ";
  for (const CoveragePoint& p : Milestones(s.coverage)) {
    out += fmt::format("top {}: {:.1f}%  ", FormatCount(p.keys), 100 * p.share);
  }
  out += "\n  expected        ";
  for (const CoveragePoint& p : Milestones(s.coverage)) {
    out += fmt::format("top {}: {:.1f}%  ", FormatCount(p.keys),
                       100 * s.expected_coverage.ShareAt(p.keys));
  }
  out += "(on new traffic)";
  out += "\n  heaviest keys\n";
  for (size_t i = 0; i < std::min(kTopKeys, s.top.size()); ++i) {
    // A count with an error is an upper bound (Space-Saving).
    out += fmt::format(
        "    {:>13}  {}\n",
        (s.top[i].error > 0 ? "≤" : "") + FormatCount(static_cast<double>(s.top[i].count)),
        s.top[i].key);
  }
  out += fmt::format(
      "\nplans at {:.0f} requests/s (model {} per row, p99 {}; lookup {}; {:.0f} B per "
      "entry; memory budget {}{})\n",
      rec.requests_per_second, FormatMicros(f.model_us_per_row),
      FormatMicros(f.model_p99_us > 0
                       ? f.model_p99_us
                       : 2 * (f.model_p50_us > 0 ? f.model_p50_us : f.model_us_per_row)),
      FormatMicros(f.lookup_us), f.bytes_per_entry, FormatBytes(r.options.budgets.memory_bytes),
      r.options.budgets.p99_objective_us > 0
          ? fmt::format("; p99 objective {}", FormatMicros(r.options.budgets.p99_objective_us))
          : "");
  out += fmt::format("  {:<8} {:>14} {:>9} {:>9} {:>9} {:>11} {:>12} {:>9}\n", "plan", "table keys",
                     "hit rate", "p50", "p99", "memory", "CPU s/1M req", "cost/h");
  out += PlanRow(rec.static_plan, rec.chosen == Plan::kStatic);
  out += PlanRow(rec.hybrid, rec.chosen == Plan::kHybrid);
  out += PlanRow(rec.dynamic, rec.chosen == Plan::kDynamic);
  out += fmt::format("\nrecommendation: {}\n  {}\n", PlanName(rec.chosen), rec.reason);
  return out;
}

std::string RenderJson(const AdvisorReport& r) {
  const WorkloadStats& s = r.stats;
  const CostFigures& f = r.options.figures;
  const Recommendation& rec = r.recommendation;
  std::string coverage, top;
  for (const CoveragePoint& p : Milestones(s.coverage)) {
    coverage += fmt::format("{}{{\"keys\":{},\"share\":{},\"expected_share\":{}}}",
                            coverage.empty() ? "" : ",", Json(p.keys), Json(p.share),
                            Json(s.expected_coverage.ShareAt(p.keys)));
  }
  for (size_t i = 0; i < std::min(kTopKeys, s.top.size()); ++i) {
    top += fmt::format("{}{{\"key\":{},\"count\":{},\"error\":{}}}", top.empty() ? "" : ",",
                       r.keys_are_json ? s.top[i].key : JsonString(s.top[i].key), s.top[i].count,
                       s.top[i].error);
  }
  return fmt::format(
      R"({{"endpoint":{},"source":{},"requests":{},"sample":{},"requests_per_second":{},)"
      R"("distinct_keys":{},"distinct_exact":{},"key_space":{},"key_space_declared":{},)"
      R"("entropy_bits":{},"peakedness":{},"unseen_share":{},"coverage":[{}],"top_keys":[{}],)"
      R"("figures":{{"model_us_per_row":{},"model_p50_us":{},"model_p99_us":{},"lookup_us":{},)"
      R"("bytes_per_entry":{},"request_overhead_us":{},"refresh_hours":{}}},)"
      R"("budgets":{{"memory_bytes":{},"p99_objective_us":{}}},)"
      R"("plans":{{"static":{},"hybrid":{},"dynamic":{}}},"recommendation":{},"reason":{}}})"
      "\n",
      JsonString(r.endpoint), JsonString(r.source), s.requests, Json(r.sample),
      Json(rec.requests_per_second), Json(s.distinct_keys), s.distinct_exact ? "true" : "false",
      Json(r.profile.cardinality), r.profile.declared ? "true" : "false", Json(s.entropy_bits),
      Json(r.profile.peakedness), Json(s.unseen_share), coverage, top, Json(f.model_us_per_row),
      Json(f.model_p50_us), Json(f.model_p99_us), Json(f.lookup_us), Json(f.bytes_per_entry),
      Json(f.request_overhead_us), Json(f.refresh_hours), Json(r.options.budgets.memory_bytes),
      Json(r.options.budgets.p99_objective_us), PlanJson(rec.static_plan), PlanJson(rec.hybrid),
      PlanJson(rec.dynamic), JsonString(PlanName(rec.chosen)), JsonString(rec.reason));
}

}  // namespace strata::advisor
