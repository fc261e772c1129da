#include "cli/experiment_command.h"

#include <iostream>
#include <memory>

#include "api/experiment_json.h"
#include "api/http_client.h"
#include "core/text_escape.h"
#include "fmt/format.h"

namespace strata::cli {
namespace {

struct ReportFlags {
  std::string endpoint;
  std::string url = "http://127.0.0.1:8000";
  bool json = false;
};

int Report(const ReportFlags& flags) {
  absl::StatusOr<api::HttpResponse> response = api::HttpRequest(
      "GET", flags.url, fmt::format("/v2/models/{}/experiment", flags.endpoint), "");
  if (!response.ok()) {
    std::cerr << "strata experiment report: " << response.status().message() << "\n";
    return 1;
  }
  if (response->status != 200) {
    std::cerr << "strata experiment report: " << response->body << "\n";
    return 1;
  }
  absl::StatusOr<api::ExperimentFigures> figures = api::DecodeExperimentReport(response->body);
  if (!figures.ok()) {
    std::cerr << "strata experiment report: " << figures.status().message() << "\n";
    return 1;
  }
  const serving::ExperimentAnalysis analysis = serving::Analyze(figures->arms);
  std::cout << (flags.json ? AnalysisJson(flags.endpoint, analysis)
                           : AnalysisText(flags.endpoint, analysis));
  return 0;
}

}  // namespace

void AddExperimentCommand(CLI::App& app) {
  auto flags = std::make_shared<ReportFlags>();
  CLI::App* experiment = app.add_subcommand(
      "experiment", "Experiments of a running server: feedback joined per arm and version");
  experiment->require_subcommand(1);
  CLI::App* report = experiment->add_subcommand(
      "report",
      "Print each arm's figures (accuracy, AUC, log loss, mean absolute error, mean reward) with "
      "95% intervals, and whether each arm differs from the first (p < 0.05).\nExample: strata "
      "experiment report checkout --url http://127.0.0.1:8000");
  report->add_option("endpoint", flags->endpoint, "Endpoint name")->required();
  report->add_option("--url", flags->url, "The server's HTTP address")->capture_default_str();
  report->add_flag("--json", flags->json, "Print JSON instead of a table");
  report->callback([flags] { throw CLI::RuntimeError(Report(*flags)); });
}

std::string AnalysisText(const std::string& endpoint, const serving::ExperimentAnalysis& analysis) {
  std::string out = fmt::format("experiment {}\n", endpoint);
  if (analysis.arms.empty()) out += "  no feedback joined yet\n";
  for (const serving::ArmAnalysis& arm : analysis.arms) {
    out += fmt::format("  {}\n", arm.name);
    for (const serving::FigureInterval& f : arm.figures) {
      const std::string interval =
          f.figure == serving::Figure::kLogLoss
              ? std::string("(no interval)")
              : fmt::format("95% CI [{:.4f}, {:.4f}]", f.interval.low, f.interval.high);
      out += fmt::format("    {:<20} {:>10.4f}  {}  n={}\n", serving::FigureName(f.figure),
                         f.interval.estimate, interval, f.n);
    }
  }
  for (const serving::ArmDifference& d : analysis.differences) {
    out += fmt::format("  {} vs {}: {} difference {:+.4f}, {} {:.3f}, p = {:.4g}: {}\n", d.arm,
                       d.baseline, serving::FigureName(d.figure), d.difference,
                       d.figure == serving::Figure::kAccuracy ? "z" : "t", d.test.statistic,
                       d.test.p_value, d.test.significant ? "significant" : "not significant");
  }
  return out;
}

std::string AnalysisJson(const std::string& endpoint, const serving::ExperimentAnalysis& analysis) {
  std::string arms;
  for (const serving::ArmAnalysis& arm : analysis.arms) {
    std::string figures;
    for (const serving::FigureInterval& f : arm.figures) {
      figures += fmt::format(R"({}"{}":{{"estimate":{},"low":{},"high":{},"n":{}}})",
                             figures.empty() ? "" : ",", serving::FigureName(f.figure),
                             f.interval.estimate, f.interval.low, f.interval.high, f.n);
    }
    arms += fmt::format(R"({}{{"arm":{},"figures":{{{}}}}})", arms.empty() ? "" : ",",
                        core::JsonString(arm.name), figures);
  }
  std::string differences;
  for (const serving::ArmDifference& d : analysis.differences) {
    differences += fmt::format(
        R"({}{{"baseline":{},"arm":{},"figure":"{}","difference":{},"statistic":{},"p_value":{},"significant":{}}})",
        differences.empty() ? "" : ",", core::JsonString(d.baseline), core::JsonString(d.arm),
        serving::FigureName(d.figure), d.difference, d.test.statistic, d.test.p_value,
        d.test.significant);
  }
  return fmt::format(R"({{"endpoint":{},"arms":[{}],"differences":[{}]}})",
                     core::JsonString(endpoint), arms, differences) +
         "\n";
}

}  // namespace strata::cli
