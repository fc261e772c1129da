#include "cli/advise_command.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "advisor/advisor_chart.h"
#include "advisor/advisor_report.h"
#include "advisor/cost_model.h"
#include "advisor/key_log_record.h"
#include "advisor/plan_map.h"
#include "advisor/workload_snapshot.h"
#include "api/http_client.h"
#include "cli/builtin_backends.h"
#include "cli/byte_size.h"
#include "cli/model_timing.h"
#include "core/fingerprint.h"
#include "fmt/format.h"

namespace strata::cli {
namespace {

using advisor::WorkloadSketch;
using advisor::WorkloadSnapshot;

struct AdviseFlags {
  std::string key_log;
  std::string server;
  std::string endpoint;
  double key_space = 0;
  std::vector<std::string> key_domains;
  std::string repository;
  std::string model;
  double model_us_per_row = 0, model_p50_us = 0, model_p99_us = 0, batch_us_per_row = 0;
  double lookup_us = 0;
  double bytes_per_entry = 0;  // 0: the server's measure, else 64
  double overhead_us = 30;
  double refresh_hours = 24;
  std::string memory_budget = "8GiB";
  double p99_objective_us = 0;
  double rate = 0;
  double cpu_cost = 1, memory_cost = 0.125;
  std::string chart;
  bool json = false;
  int64_t export_hot_keys = 0;
  std::string export_to = "hot_keys.jsonl";
  size_t heavy_hitters = advisor::SketchOptions().heavy_hitters;
  bool heavy_hitters_given = false;  // --heavy-hitters on the command line
  size_t sample_size = advisor::SketchOptions().sample_size;
};

// The most heavy-hitter counters `--export-hot-keys` sizes itself to (a
// counter with its key takes a few hundred bytes).
constexpr size_t kMaxExportCounters = 4'000'000;

int Fail(const absl::Status& s) {
  fmt::print(stderr, "strata advise: {}\n", std::string(s.message()));
  return 1;
}

// What was read, from a key log or a server.
struct Observed {
  WorkloadSnapshot snapshot;
  std::string source;
  double sample = 1;
  bool hashed = false;
};

absl::StatusOr<Observed> ReadKeyLog(const AdviseFlags& f) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (f.key_log != "-") {
    file.open(f.key_log);
    if (!file) return absl::NotFoundError(fmt::format("cannot open key log {}", f.key_log));
    in = &file;
  }
  Observed o{.snapshot = {.endpoint = f.endpoint,
                          .seconds = 0,
                          .figures = {},
                          .sketch = WorkloadSketch(
                              {.hll_precision = advisor::SketchOptions().hll_precision,
                               .heavy_hitters = f.heavy_hitters,
                               .sample_size = f.sample_size})},
             .source = fmt::format("key log {}", f.key_log),
             .sample = 1,
             .hashed = false};
  std::map<std::string, uint64_t> others;
  double first_ts = 0, last_ts = 0;
  std::string line;
  for (int64_t number = 1; std::getline(*in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    absl::StatusOr<advisor::KeyLogRecord> r = advisor::ParseKeyLogLine(line);
    if (!r.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("{} line {}: {}", f.key_log, number, std::string(r.status().message())));
    }
    if (o.snapshot.endpoint.empty()) o.snapshot.endpoint = r->endpoint;
    if (r->endpoint != o.snapshot.endpoint) {
      ++others[r->endpoint];
      continue;
    }
    if (o.snapshot.sketch.requests() == 0) first_ts = r->ts;
    last_ts = std::max(last_ts, r->ts);
    o.sample = r->sample;
    o.hashed = o.hashed || r->hashed;
    o.snapshot.sketch.Add(r->key);
  }
  for (const auto& [name, count] : others) {
    fmt::print(stderr, "strata advise: skipped {} keys of endpoint '{}' (--endpoint)\n", count,
               name);
  }
  if (o.snapshot.sketch.requests() == 0) {
    return absl::InvalidArgumentError(
        fmt::format("no keys of endpoint '{}' in {}", o.snapshot.endpoint, f.key_log));
  }
  o.snapshot.seconds = std::max(0.0, last_ts - first_ts);
  return o;
}

absl::StatusOr<Observed> FetchSnapshot(const AdviseFlags& f) {
  if (f.endpoint.empty()) {
    return absl::InvalidArgumentError("--server needs --endpoint");
  }
  absl::StatusOr<api::HttpResponse> r =
      api::HttpRequest("GET", f.server, fmt::format("/v2/advisor/{}/snapshot", f.endpoint), "");
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return absl::UnavailableError(fmt::format("{} answered {}: {}", f.server, r->status, r->body));
  }
  absl::StatusOr<WorkloadSnapshot> snapshot = WorkloadSnapshot::Decode(r->body);
  if (!snapshot.ok()) return snapshot.status();
  if (snapshot->sketch.requests() == 0) {
    return absl::FailedPreconditionError(fmt::format(
        "{} has seen no requests for endpoint '{}' yet ({:.0f} s since it started); send it "
        "traffic first, or advise from a key log",
        f.server, f.endpoint, snapshot->seconds));
  }
  const bool hashed = snapshot->hashed_keys;
  return Observed{.snapshot = *std::move(snapshot),
                  .source = fmt::format("live sketches of {}", f.server),
                  .sample = 1,
                  .hashed = hashed};
}

// The declared key space: --key-space, or the product of --key-domain sizes.
absl::StatusOr<double> KeySpace(const AdviseFlags& f) {
  double space = f.key_space;
  for (const std::string& domain : f.key_domains) {
    const size_t eq = domain.find('=');
    double size = 0;
    try {
      size = eq == std::string::npos ? 0 : std::stod(domain.substr(eq + 1));
    } catch (const std::exception&) {
      size = 0;
    }
    if (size < 1) {
      return absl::InvalidArgumentError(
          fmt::format("--key-domain '{}' is not COLUMN=SIZE (e.g. store_id=100)", domain));
    }
    space = (space > 0 ? space : 1) * size;
  }
  return space;
}

// Cost figures: flags first, then what the server measured, then a run of
// the model itself.
absl::StatusOr<advisor::CostModelOptions> Options(const AdviseFlags& f, const Observed& o) {
  advisor::CostModelOptions options;
  advisor::CostFigures& c = options.figures;
  auto measured = [&](std::string_view name) {
    auto it = o.snapshot.figures.find(name);
    return it == o.snapshot.figures.end() ? 0.0 : it->second;
  };
  c.model_us_per_row =
      f.model_us_per_row > 0 ? f.model_us_per_row : measured(advisor::kModelUsPerRow);
  c.model_p50_us = f.model_p50_us > 0 ? f.model_p50_us : measured(advisor::kModelP50Us);
  c.model_p99_us = f.model_p99_us > 0 ? f.model_p99_us : measured(advisor::kModelP99Us);
  c.batch_us_per_row = f.batch_us_per_row;
  if (!f.model.empty()) {
    if (f.repository.empty()) return absl::InvalidArgumentError("--model needs --repository");
    absl::StatusOr<ModelTiming> t = MeasureModel(f.repository, f.model, BuiltinBackends());
    if (!t.ok()) return t.status();
    fmt::print(stderr,
               "strata advise: model '{}' version {}: one row p50 {:.0f} µs, p99 {:.0f} µs; "
               "{:.1f} µs per row in batches of {}\n",
               t->model, t->version, t->single_row_p50_us, t->single_row_p99_us,
               t->batch_us_per_row, t->batch_rows);
    if (f.model_us_per_row <= 0) c.model_us_per_row = t->single_row_p50_us;
    if (f.model_p50_us <= 0) c.model_p50_us = t->single_row_p50_us;
    if (f.model_p99_us <= 0) c.model_p99_us = t->single_row_p99_us;
    if (f.batch_us_per_row <= 0) c.batch_us_per_row = t->batch_us_per_row;
  }
  if (c.model_us_per_row <= 0) {
    fmt::print(stderr,
               "strata advise: no model time measured; assuming {} µs per row (set "
               "--model-us-per-row, or --repository and --model to measure it)\n",
               advisor::CostFigures().model_us_per_row);
    c.model_us_per_row = advisor::CostFigures().model_us_per_row;
  }
  const double lookup = measured(advisor::kLookupUs);
  c.lookup_us = f.lookup_us > 0 ? f.lookup_us : lookup > 0 ? lookup : c.lookup_us;
  const double entry = measured(advisor::kBytesPerEntry);
  c.bytes_per_entry = f.bytes_per_entry > 0 ? f.bytes_per_entry : entry > 0 ? entry : 64;
  c.request_overhead_us = f.overhead_us;
  c.refresh_hours = f.refresh_hours;
  std::optional<size_t> budget = ParseByteSize(f.memory_budget);
  if (!budget) {
    return absl::InvalidArgumentError(
        fmt::format("--memory-budget '{}' is not a size (e.g. 8GiB)", f.memory_budget));
  }
  options.budgets.memory_bytes = static_cast<double>(*budget);
  options.budgets.p99_objective_us = f.p99_objective_us;
  options.prices = {.cpu_core_hour = f.cpu_cost, .memory_gb_hour = f.memory_cost};
  return options;
}

// Writes the top `k` keys, one JSON object per line: a batch-job input.
absl::Status ExportHotKeys(const AdviseFlags& f, const Observed& o,
                           const advisor::WorkloadStats& stats) {
  if (o.hashed && !f.server.empty()) {
    return absl::FailedPreconditionError(fmt::format(
        "'{}' is a model's own endpoint: its sketch counts fingerprints of the rows' inputs, "
        "which cannot be exported; declare a hybrid endpoint with key columns in front of the "
        "model (docs/hybrid.md: Hybrid endpoints) and export from its sketch or key log",
        o.snapshot.endpoint));
  }
  if (o.hashed) {
    return absl::FailedPreconditionError(
        "the keys were logged hashed (--key-log-hash); hashed keys cannot be exported");
  }
  const size_t k = static_cast<size_t>(f.export_hot_keys);
  if (k > stats.top.size()) {
    fmt::print(stderr,
               "strata advise: only {} heavy keys are tracked; exporting those (raise "
               "--heavy-hitters, or the server's sketch size, for more)\n",
               stats.top.size());
  }
  std::ofstream out(f.export_to);
  if (!out) return absl::UnavailableError(fmt::format("cannot write {}", f.export_to));
  size_t written = 0, long_keys = 0;
  for (size_t i = 0; i < stats.top.size() && written < k; ++i) {
    const std::string& key = stats.top[i].key;
    if (core::IsKeyFingerprintMarker(key)) {  // a long key, known by its fingerprint only
      ++long_keys;
      continue;
    }
    if (!key.empty() && key.front() == '{') {
      out << key << '\n';
    } else {
      out << "{\"key\":" << key << "}\n";
    }
    ++written;
  }
  out.close();
  if (!out) return absl::UnavailableError(fmt::format("cannot write {}", f.export_to));
  if (long_keys > 0) {
    fmt::print(stderr,
               "strata advise: skipped {} hot keys longer than {} bytes, which the server "
               "keeps only as fingerprints\n",
               long_keys, core::kMaxKeyBytes);
  }
  // The forecast for a table of these keys is the expected coverage (new
  // traffic); the share of the logged requests overstates it.
  fmt::print(stderr,
             "strata advise: wrote the {} hottest keys to {} ({:.1f}% of the logged requests; "
             "expected hit rate on new traffic {:.2f}%)\n",
             written, f.export_to, 100 * stats.coverage.ShareAt(static_cast<double>(written)),
             100 * stats.expected_coverage.ShareAt(static_cast<double>(written)));
  return absl::OkStatus();
}

// Space-Saving ranks the head exactly, but once there are more distinct
// keys than counters the bottom ranks fill with recent tail keys whose
// counts are overestimated: on a flat workload most of an exported top K
// would not be the top K. A key log can be read again with a counter per
// distinct key, which counts every key exactly; `observed` is then replaced.
absl::Status RereadForExactExport(AdviseFlags& f, absl::StatusOr<Observed>& observed) {
  if (f.export_hot_keys <= 0 || !f.server.empty() || f.heavy_hitters_given) {
    return absl::OkStatus();
  }
  const double distinct = observed->snapshot.sketch.Stats().distinct_keys;
  if (distinct <= static_cast<double>(f.heavy_hitters)) return absl::OkStatus();
  const size_t wanted = static_cast<size_t>(distinct * 1.05) + 1024;
  if (f.key_log == "-") {
    fmt::print(stderr,
               "strata advise: about {:.0f} distinct keys exceed the {} heavy-hitter "
               "counters and stdin cannot be read twice; the last exported ranks are "
               "approximate (give a file, or --heavy-hitters {})\n",
               distinct, f.heavy_hitters, wanted);
    return absl::OkStatus();
  }
  f.heavy_hitters = std::min(wanted, kMaxExportCounters);
  fmt::print(stderr,
             "strata advise: about {:.0f} distinct keys exceed the heavy-hitter "
             "counters; reading {} again with {} counters so that the exported keys are "
             "the top {}\n",
             distinct, f.key_log, f.heavy_hitters, f.export_hot_keys);
  if (wanted > kMaxExportCounters) {
    fmt::print(stderr,
               "strata advise: capped at {} counters (about {} of memory); the last "
               "exported ranks are approximate (--heavy-hitters N to choose)\n",
               kMaxExportCounters, "1.5 GiB");
  }
  observed = ReadKeyLog(f);
  return observed.status();
}

// A server's sketch cannot be read again: says when its top K is approximate.
void WarnApproximateServerExport(const AdviseFlags& f, const Observed& observed) {
  if (f.export_hot_keys <= 0 || f.server.empty()) return;
  const advisor::WorkloadSketch& sketch = observed.snapshot.sketch;
  const double distinct = sketch.Stats().distinct_keys;
  if (distinct <= static_cast<double>(sketch.options().heavy_hitters)) return;
  fmt::print(
      stderr,
      "strata advise: the server's sketch tracks {} heavy keys of about {:.0f} "
      "distinct; exported keys seen fewer than about {:.0f} times may not be the "
      "true top {} (export from a key log, `strata serve --key-log`, for an exact "
      "top K)\n",
      sketch.options().heavy_hitters, distinct,
      static_cast<double>(sketch.requests()) / static_cast<double>(sketch.options().heavy_hitters),
      f.export_hot_keys);
}

// The workload, from the key log or the server, counted for the export.
absl::StatusOr<Observed> Observe(AdviseFlags& f) {
  if (f.key_log.empty() == f.server.empty()) {
    return absl::InvalidArgumentError("give one of --key-log FILE or --server URL");
  }
  if (f.export_hot_keys > 0 && f.heavy_hitters < static_cast<size_t>(2 * f.export_hot_keys)) {
    f.heavy_hitters = static_cast<size_t>(2 * f.export_hot_keys);
  }
  absl::StatusOr<Observed> observed = f.server.empty() ? ReadKeyLog(f) : FetchSnapshot(f);
  if (!observed.ok()) return observed.status();
  if (absl::Status s = RereadForExactExport(f, observed); !s.ok()) return s;
  WarnApproximateServerExport(f, *observed);
  return observed;
}

// The report's workload: what was observed, its rate, and its profile.
advisor::AdvisorReport Report(const AdviseFlags& f, const Observed& observed, double key_space,
                              const advisor::CostModelOptions& options) {
  advisor::AdvisorReport report;
  report.endpoint = observed.snapshot.endpoint;
  report.source = observed.source;
  report.sample = observed.sample;
  report.keys_are_json = !observed.hashed;
  report.stats = observed.snapshot.sketch.Stats();
  if (f.rate > 0) {
    report.stats.requests_per_second = f.rate;
  } else if (observed.snapshot.seconds > 0) {
    report.stats.requests_per_second =
        static_cast<double>(report.stats.requests) / observed.snapshot.seconds / observed.sample;
  }
  report.profile = advisor::WorkloadProfile::FromStats(report.stats, key_space);
  report.options = options;
  return report;
}

absl::Status WriteChart(const std::string& path, const advisor::CostModel& model,
                        const advisor::AdvisorReport& report) {
  const advisor::PlanMap map = advisor::PlanMap::Compute(
      model, report.recommendation.requests_per_second, advisor::PlanMapOptions());
  const std::string svg = advisor::RenderAdvisorChart(
      {.title = fmt::format("strata advise: {} ({} recommended)", report.endpoint,
                            advisor::PlanName(report.recommendation.chosen)),
       .map = &map,
       .cardinality = report.profile.cardinality,
       .peakedness = report.profile.peakedness,
       .coverage = &report.stats.expected_coverage,
       .recommendation = &report.recommendation,
       .observed = &report.stats.coverage});
  std::ofstream out(path);
  out << svg;
  if (!out) return absl::UnavailableError(fmt::format("cannot write {}", path));
  fmt::print(stderr, "strata advise: chart written to {}\n", path);
  return absl::OkStatus();
}

int RunAdvise(AdviseFlags f) {
  absl::StatusOr<Observed> observed = Observe(f);
  if (!observed.ok()) return Fail(observed.status());
  absl::StatusOr<double> key_space = KeySpace(f);
  if (!key_space.ok()) return Fail(key_space.status());
  absl::StatusOr<advisor::CostModelOptions> options = Options(f, *observed);
  if (!options.ok()) return Fail(options.status());

  advisor::AdvisorReport report = Report(f, *observed, *key_space, *options);
  const advisor::CostModel model(*options);
  report.recommendation = model.Recommend(report.profile);
  fmt::print("{}", f.json ? advisor::RenderJson(report) : advisor::RenderText(report));
  if (!f.chart.empty()) {
    if (absl::Status s = WriteChart(f.chart, model, report); !s.ok()) return Fail(s);
  }
  if (f.export_hot_keys > 0) {
    if (absl::Status s = ExportHotKeys(f, *observed, report.stats); !s.ok()) return Fail(s);
  }
  return 0;
}

}  // namespace

void AddAdviseCommand(CLI::App& app) {
  auto flags = std::make_shared<AdviseFlags>();
  CLI::App* cmd = app.add_subcommand(
      "advise",
      "Measure an endpoint's workload (peakedness x cardinality) and recommend static, "
      "hybrid or dynamic serving, with costs.\nExamples:\n"
      "  strata advise --key-log keys.jsonl --endpoint purchase --chart advise.svg\n"
      "  strata advise --server http://127.0.0.1:8000 --endpoint purchase "
      "--export-hot-keys 10000");
  cmd->add_option("--key-log", flags->key_log,
                  "key log written by `strata serve --key-log` (JSON Lines; - for stdin)");
  cmd->add_option("--server", flags->server, "a running server's URL: read its live sketches");
  cmd->add_option("--endpoint", flags->endpoint,
                  "the endpoint to analyse (default: the key log's first)");
  cmd->add_option("--key-space", flags->key_space,
                  "the number of keys that may be asked for, when known");
  cmd->add_option("--key-domain", flags->key_domains,
                  "COLUMN=SIZE of a key column's domain; the key space is their product")
      ->take_all();
  cmd->add_option("--repository", flags->repository, "model repository, to time --model");
  cmd->add_option("--model", flags->model, "model to run for its time per row");
  cmd->add_option("--model-us-per-row", flags->model_us_per_row, "model CPU time per row, µs");
  cmd->add_option("--model-p50-us", flags->model_p50_us, "latency of a model answer, p50, µs");
  cmd->add_option("--model-p99-us", flags->model_p99_us, "latency of a model answer, p99, µs");
  cmd->add_option("--batch-us-per-row", flags->batch_us_per_row,
                  "precompute cost per row in a batch job, µs (default: --model-us-per-row)");
  cmd->add_option("--lookup-us", flags->lookup_us, "one table lookup, µs (default 5)");
  cmd->add_option("--bytes-per-entry", flags->bytes_per_entry,
                  "bytes of one table entry (default: the server's table, else 64)");
  cmd->add_option("--overhead-us", flags->overhead_us, "protocol work per request, µs")
      ->capture_default_str();
  cmd->add_option("--refresh-hours", flags->refresh_hours, "how often tables are rebuilt")
      ->capture_default_str();
  cmd->add_option("--memory-budget", flags->memory_budget, "most memory for a table")
      ->capture_default_str();
  cmd->add_option("--p99-objective-us", flags->p99_objective_us,
                  "latency objective, µs (default: none)");
  cmd->add_option("--rate", flags->rate, "requests per second (default: measured)");
  cmd->add_option("--cpu-cost", flags->cpu_cost, "price of a CPU core-hour")->capture_default_str();
  cmd->add_option("--memory-cost", flags->memory_cost, "price of a GiB-hour of memory")
      ->capture_default_str();
  cmd->add_option("--chart", flags->chart, "write the SVG chart here");
  cmd->add_flag("--json", flags->json, "print the report as JSON");
  cmd->add_option("--export-hot-keys", flags->export_hot_keys,
                  "write the K hottest keys as a batch-job input (JSON Lines)");
  cmd->add_option("--export-to", flags->export_to, "where --export-hot-keys writes")
      ->capture_default_str();
  CLI::Option* heavy =
      cmd->add_option("--heavy-hitters", flags->heavy_hitters,
                      "heavy-hitter counters (key log); with --export-hot-keys, by default one "
                      "per distinct key (up to 4M), so the exported keys are the true top K")
          ->capture_default_str();
  cmd->add_option("--sample-size", flags->sample_size, "keys in the tail sample (key log)")
      ->capture_default_str();
  cmd->callback([flags, heavy] {
    flags->heavy_hitters_given = heavy->count() > 0;
    throw CLI::RuntimeError(RunAdvise(*flags));
  });
}

}  // namespace strata::cli
