#include "cli/check_command.h"

#include <cstdio>
#include <memory>

#include "check/run_checks.h"
#include "fmt/format.h"

namespace strata::cli {
namespace {

struct CheckFlags {
  check::CheckTarget target;
  check::CheckOptions options;
  std::string samples, heldout, reference, repository;
  double tolerance = -1;  // -1: not given
  double duration_s = 5;
  bool json = false;
};

int Run(CheckFlags& f) {
  if (f.target.url.empty() || f.target.model.empty()) {
    fmt::print(stderr, "strata check: --url and --model are required (see strata check --help)\n");
    return kCheckUsageError;
  }
  f.options.samples = f.samples;
  f.options.heldout = f.heldout;
  f.options.reference = f.reference;
  f.options.repository = f.repository;
  if (f.tolerance >= 0) f.options.tolerance = f.tolerance;
  f.options.duration = std::chrono::milliseconds(static_cast<int64_t>(f.duration_s * 1000));
  absl::StatusOr<check::CheckReport> report = check::RunChecks(f.target, f.options);
  if (!report.ok()) {
    fmt::print(stderr, "strata check: {}\n", std::string(report.status().message()));
    const bool usage =
        absl::IsInvalidArgument(report.status()) || absl::IsNotFound(report.status());
    return usage ? kCheckUsageError : 1;
  }
  fmt::print("{}",
             f.json ? check::FormatReportJson(*report) + "\n" : check::FormatReportText(*report));
  return report->Passed() ? 0 : 1;
}

void AddInputFlags(CLI::App& cmd, CheckFlags& f) {
  cmd.add_option("--samples", f.samples,
                 "Samples file: {\"request\": ..., \"expected\": ...} (a version's samples.json)");
  cmd.add_option("--repository", f.repository,
                 "strata model repository: read samples.json, check/heldout.jsonl and "
                 "check/reference.json from the version's directory");
  cmd.add_option("--heldout", f.heldout,
                 "Held-out rows: JSON Lines, one KServe v2 inference request per line");
  cmd.add_option("--access-log", f.options.access_log,
                 "End-to-end: the server's access log (strata serve --access-log > FILE); "
                 "its new lines must name every request the checks had answered");
  cmd.add_option("--reference", f.reference,
                 "Reference histogram of training-set scores (check/reference.json)");
  cmd.add_option("--tolerance", f.tolerance,
                 "Functional: |got - expected| <= tolerance * max(1, |expected|) "
                 "(default: the samples file's, else 1e-5)");
  cmd.add_option("--heldout-rows", f.options.heldout_rows, "Statistical: at most this many lines")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd.add_option("--psi-max", f.options.psi_max, "Statistical: the largest PSI that passes")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

void AddLoadFlags(CLI::App& cmd, CheckFlags& f) {
  cmd.add_option("--rate", f.options.rate, "Load: requests per second (open loop)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd.add_option("--duration", f.duration_s, "Load: seconds")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 600.0));
  cmd.add_option("--p99-ms", f.options.p99_ms, "Load: the p99 objective in milliseconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd.add_option("--connections", f.options.connections, "Load: client connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
}

}  // namespace

void AddCheckCommand(CLI::App& app) {
  auto flags = std::make_shared<CheckFlags>();
  CLI::App* cmd = app.add_subcommand(
      "check",
      "Check a model version before it takes traffic: functional (samples match), statistical "
      "(PSI of held-out scores), error handling (malformed requests get 4xx), load (p99 at a "
      "rate) and end-to-end (/metrics counts the requests), against any KServe v2 server.\n"
      "Exit 0: all pass; 1: a check fails; 2: usage error.\n"
      "Example: strata check --url http://127.0.0.1:8000 --model breast_cancer_xgb "
      "--repository examples/repository");
  CheckFlags& f = *flags;
  cmd->add_option("--url", f.target.url, "Server, e.g. http://127.0.0.1:8000");
  cmd->add_option("--model", f.target.model, "Model name");
  cmd->add_option("--version", f.target.version, "Model version (default: the server's default)");
  cmd->add_option("--token", f.target.bearer_token, "Bearer token sent as Authorization");
  cmd->add_flag("--json", f.json, "Print the report as JSON");
  AddInputFlags(*cmd, f);
  AddLoadFlags(*cmd, f);
  cmd->callback([flags] { throw CLI::RuntimeError(Run(*flags)); });
}

}  // namespace strata::cli
