#include "api/status_page.h"

#include <map>

#include "api/endpoint_json.h"
#include "api/experiment_status.h"
#include "core/text_escape.h"
#include "fmt/format.h"

namespace strata::api {
namespace {

using core::HtmlEscape;

constexpr std::string_view kStyle = R"(
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
table { border-collapse: collapse; } td, th { padding: .25em .8em; text-align: left; }
th { border-bottom: 1px solid #999; } tr:nth-child(even) td { background: #f4f4f4; }
.ok { color: #2a7d2a; } .bad { color: #b22; } .num { text-align: right; }
.bar { display: inline-block; height: .8em; background: #4c78a8; vertical-align: middle; }
.muted { color: #777; }
)";

std::string ReadyCell(bool ready, const std::string& reason) {
  return ready ? "<td class=ok>ready</td>"
               : fmt::format("<td class=bad>not ready: {}</td>", HtmlEscape(reason));
}

// A share as a percentage and a bar 0..100 px wide.
std::string ShareCell(double share) {
  return fmt::format("<td class=num>{:.1f}% <span class=bar style=\"width:{:.0f}px\"></span></td>",
                     100 * share, 100 * share);
}

void Models(const serving::ServerCore& core, std::string& out) {
  std::map<std::string, serving::ModelStatistics> stats;
  if (auto s = core.Statistics("", ""); s.ok()) {
    for (serving::ModelStatistics& m : *s) stats[m.name + "/" + m.version] = std::move(m);
  }
  out +=
      "<h2>Models</h2><table><tr><th>model</th><th>versions</th><th>platform</th>"
      "<th>state</th><th class=num>requests</th><th class=num>failed</th>"
      "<th class=num>mean latency</th></tr>";
  for (const auto& m : core.models()) {
    std::string versions;
    for (int64_t v : m->versions) versions += (versions.empty() ? "" : ", ") + std::to_string(v);
    uint64_t ok = 0, failed = 0, ns = 0;
    if (auto it = stats.find(m->name + "/" + std::to_string(m->version)); it != stats.end()) {
      ok = it->second.success.count;
      failed = it->second.fail.count;
      ns = it->second.success.ns;
    }
    out += fmt::format(
        "<tr><td><a href=\"/v2/models/{0}\">{1}</a></td><td>{2}</td><td>{3}</td>{4}"
        "<td class=num>{5}</td><td class=num>{6}</td><td class=num>{7}</td></tr>",
        HtmlEscape(m->name), HtmlEscape(m->name), HtmlEscape(versions), HtmlEscape(m->platform),
        ReadyCell(m->ready(), m->reason), ok, failed,
        ok == 0
            ? std::string("—")
            : fmt::format("{:.0f} µs", 1e-3 * static_cast<double>(ns) / static_cast<double>(ok)));
  }
  out += "</table>";
}

void Endpoints(const serving::ServerCore& core, std::string& out) {
  const std::vector<const serving::Endpoint*> endpoints = core.endpoints();
  if (endpoints.empty()) return;
  out +=
      "<h2>Endpoints</h2><table><tr><th>endpoint</th><th>plan</th><th>state</th>"
      "<th>details</th></tr>";
  for (const serving::Endpoint* e : endpoints) {
    const serving::EndpointDescription d = e->Describe();
    std::string details;
    for (const auto& [key, value] : EndpointProperties(d)) {
      details +=
          fmt::format("{}{}: {}", details.empty() ? "" : "; ", HtmlEscape(key), HtmlEscape(value));
    }
    out += fmt::format(
        "<tr><td><a href=\"/v2/models/{0}\">{0}</a></td><td>{1}</td>{2}"
        "<td class=muted>{3}</td></tr>",
        HtmlEscape(d.name), serving::PlanName(d.plan), ReadyCell(d.ready, d.reason), details);
  }
  out += "</table>";
}

void Workloads(const serving::ServerCore& core, std::string& out) {
  const std::vector<std::string> names = core.WorkloadEndpoints();
  if (names.empty()) return;
  out +=
      "<h2>Workload (live sketches)</h2><table><tr><th>endpoint</th>"
      "<th class=num>requests</th><th class=num>distinct keys</th>"
      "<th class=num>entropy</th><th class=num>peakedness</th><th>top 10 keys</th>"
      "<th>top 100</th><th>top 1000</th></tr>";
  for (const std::string& name : names) {
    absl::StatusOr<advisor::WorkloadStats> s = core.LiveWorkloadStats(name);
    if (!s.ok()) continue;
    out += fmt::format(
        "<tr><td><a href=\"/v2/advisor/{0}\">{0}</a></td><td class=num>{1}</td>"
        "<td class=num>{2:.0f}{3}</td><td class=num>{4:.2f} bits</td><td class=num>{5:.2f}</td>"
        "{6}{7}{8}</tr>",
        HtmlEscape(name), s->requests, s->distinct_keys, s->distinct_exact ? "" : " (est.)",
        s->entropy_bits, s->peakedness, ShareCell(s->coverage.ShareAt(10)),
        ShareCell(s->coverage.ShareAt(100)), ShareCell(s->coverage.ShareAt(1000)));
  }
  out +=
      "</table><p class=muted>Peakedness is 1 − entropy / log2(distinct keys): 0 for a flat "
      "workload, towards 1 when a few keys take the traffic. <code>strata advise --server "
      "URL --endpoint NAME</code> turns these into a recommendation.</p>";
}

// One row per rollout: endpoint, candidate, state, step and weight, the
// last verdict of each gate, and why it is where it is.
void Rollouts(const serving::RolloutControl* rollouts, std::string& out) {
  if (rollouts == nullptr) return;
  const std::vector<serving::RolloutView> views = rollouts->List();
  if (views.empty()) return;
  out +=
      "<h2>Rollouts</h2><table><tr><th>endpoint</th><th>candidate</th><th>state</th>"
      "<th>step</th><th>weight</th><th>gates</th><th>reason</th></tr>";
  for (const serving::RolloutView& v : views) {
    const serving::RolloutState& s = v.state;
    std::string gates;
    if (v.last) {
      for (const serving::GateResult& g : v.last->gates) {
        gates += fmt::format("{} {}<br>", serving::GateName(g.gate),
                             serving::GateVerdictName(g.verdict));
      }
    }
    out += fmt::format(
        "<tr><td>{}</td><td>{}@{}</td><td>{}</td><td>{} of {}</td><td>{}%</td><td>{}</td>"
        "<td>{}</td></tr>",
        HtmlEscape(s.spec.endpoint), HtmlEscape(s.spec.candidate.model),
        HtmlEscape(s.spec.candidate.version), serving::RolloutStatusName(s.status), s.step + 1,
        s.spec.steps.size(), v.weight, gates, HtmlEscape(s.reason));
  }
  out += "</table>";
}

}  // namespace

std::string RenderStatusPage(const serving::ServerCore& core,
                             const serving::RolloutControl* rollouts,
                             const serving::Experiments* experiments) {
  std::string out = fmt::format(
      "<!doctype html><html><head><meta charset=utf-8><title>{0} status</title>"
      "<style>{1}</style></head><body><h1>{0} {2}</h1>",
      HtmlEscape(core.name()), kStyle, HtmlEscape(core.version()));
  Models(core, out);
  Endpoints(core, out);
  Rollouts(rollouts, out);
  Workloads(core, out);
  if (experiments != nullptr) AppendExperimentSection(*experiments, out);
  out +=
      "<h2>More</h2><ul><li><a href=\"/metrics\">/metrics</a> (Prometheus)</li>"
      "<li><a href=\"/v2/models/stats\">/v2/models/stats</a> (statistics)</li>"
      "<li><a href=\"/v2/advisor\">/v2/advisor</a> (live workload, JSON)</li>"
      "<li><a href=\"/v2\">/v2</a> (server metadata)</li></ul></body></html>\n";
  return out;
}

}  // namespace strata::api
