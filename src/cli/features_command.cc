#include "cli/features_command.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/table_stores.h"
#include "features/feature_definition.h"
#include "features/feature_pipeline.h"
#include "features/fitting.h"
#include "features/keyed_hash.h"
#include "features/materializer.h"
#include "features/point_in_time.h"
#include "features/skew.h"
#include "features/source_reader.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace strata::cli {
namespace {
namespace fs = std::filesystem;
using features::FeatureDefinition;

// Exit codes: 0 done, 1 the job failed (or skew found differences), 2 bad flags.
[[noreturn]] void Fail(const absl::Status& status, std::string_view what) {
  spdlog::error("strata features {}: {}", what, std::string(status.message()));
  std::exit(1);
}

template <typename T>
T OrFail(absl::StatusOr<T> value, std::string_view what) {
  if (!value.ok()) Fail(value.status(), what);
  return *std::move(value);
}

struct StoreChoice {
  std::string tables;
  std::string redis;
};

void AddStoreOptions(CLI::App& command, StoreChoice& store) {
  auto* tables = command.add_option("--tables", store.tables, "RocksDB tables directory");
  auto* redis = command.add_option("--redis", store.redis,
                                   "Redis server, redis://host:port or unix:///path/to.sock");
  tables->excludes(redis);
}

std::unique_ptr<store::TableStore> OpenStore(const StoreChoice& choice, std::string_view what) {
  if (choice.tables.empty() == choice.redis.empty()) {
    Fail(absl::InvalidArgumentError("name the table store: --tables DIR or --redis URL"), what);
  }
  const TableStoreFlags flags =
      choice.redis.empty() ? RocksDbFlags(choice.tables) : RedisFlags(choice.redis);
  return OrFail(CreateTableStore(flags, ""), what);
}

// --source TABLE=FILE, each table's source rows.
std::map<std::string, features::SourceRows> ReadSources(const FeatureDefinition& definition,
                                                        const std::vector<std::string>& flags,
                                                        const std::string& event_time) {
  std::map<std::string, features::SourceRows> sources;
  for (const std::string& flag : flags) {
    const size_t eq = flag.find('=');
    const std::string name = flag.substr(0, eq);
    const features::FeatureTable* table =
        eq == std::string::npos ? nullptr : definition.FindTable(name);
    if (table == nullptr) {
      Fail(absl::InvalidArgumentError(
               fmt::format("--source '{}' is not TABLE=FILE for a table of the definition", flag)),
           "build");
    }
    const std::string file = flag.substr(eq + 1);
    std::vector<features::SourceColumn> columns =
        features::TableSourceColumns(definition, *table, event_time);
    sources[name] = OrFail(features::ReadSourceFile(file, columns), "build");
    spdlog::info("table '{}': {} source rows from {}", name, sources[name].rows, file);
  }
  return sources;
}

features::TrainingRows JoinLabels(const FeatureDefinition& definition, const std::string& labels,
                                  const std::vector<std::string>& sources,
                                  const features::PointInTimeOptions& options) {
  const features::SourceRows label_rows = OrFail(
      features::ReadSourceFile(labels, features::LabelColumns(definition, options)), "build");
  spdlog::info("{} labelled events from {}", label_rows.rows, labels);
  const auto tables = ReadSources(definition, sources, options.event_time_column);
  features::TrainingRows rows =
      OrFail(features::JoinPointInTime(definition, label_rows, tables, options), "build");
  for (size_t t = 0; t < definition.tables.size(); ++t) {
    spdlog::info("table '{}': {} of {} events had a row as of their time",
                 definition.tables[t].name, rows.found[t], rows.raw.rows());
  }
  return rows;
}

struct JoinFlags {
  std::string labels;
  std::vector<std::string> sources;
  features::PointInTimeOptions options;
};

void AddJoinOptions(CLI::App& command, JoinFlags& join) {
  command.add_option("--labels", join.labels,
                     "Labelled events (CSV or JSON Lines): entity keys, the timestamp, request "
                     "fields, the label");
  command.add_option("--source", join.sources,
                     "TABLE=FILE: a feature table's source rows (entity keys, event time, "
                     "columns); repeat per table");
  command
      .add_option("--timestamp-column", join.options.timestamp_column,
                  "The labels' event time column (unix seconds)")
      ->capture_default_str();
  command.add_option("--label-column", join.options.label_column, "The labels' label column")
      ->capture_default_str();
  command
      .add_option("--event-time-column", join.options.event_time_column,
                  "The sources' event time column (unix seconds)")
      ->capture_default_str();
}

struct FitFlags {
  std::string definition, data, out;
  JoinFlags join;
};

void RunFit(const FitFlags& flags) {
  const FeatureDefinition definition =
      OrFail(features::LoadFeatureDefinition(flags.definition, true), "fit");
  features::RawRows rows;
  if (!flags.data.empty()) {
    const std::vector<features::Slot> slots = features::SlotsOf(definition);
    const std::vector<features::SourceColumn> columns = features::SlotColumns(slots, false);
    rows =
        features::RawRowsFromSource(OrFail(features::ReadSourceFile(flags.data, columns), "fit"));
  } else if (!flags.join.labels.empty()) {
    rows = JoinLabels(definition, flags.join.labels, flags.join.sources, flags.join.options).raw;
  } else {
    Fail(absl::InvalidArgumentError("give the training rows: --data ROWS, or --labels FILE with "
                                    "--source TABLE=FILE per table"),
         "fit");
  }
  spdlog::info("fitting on {} rows", rows.rows());
  const FeatureDefinition fitted = OrFail(features::Fit(definition, rows), "fit");
  std::ofstream out(flags.out);
  out << features::WriteFeatureDefinition(fitted);
  if (!out) Fail(absl::InvalidArgumentError(fmt::format("cannot write {}", flags.out)), "fit");
  spdlog::info("wrote the fitted definition to {}", flags.out);
}

void AddFit(CLI::App& parent) {
  auto flags = std::make_shared<FitFlags>();
  CLI::App* fit = parent.add_subcommand(
      "fit",
      "Compute a definition's fitted parameters (means, deviations, boundaries, vocabularies) "
      "from training rows.\nExample: strata features fit --definition features.yaml --data "
      "rows.csv --out fitted.yaml");
  fit->add_option("--definition", flags->definition, "features.yaml (unfitted)")
      ->required()
      ->check(CLI::ExistingFile);
  fit->add_option("--data", flags->data,
                  "Rows (CSV or JSON Lines) with the slots' columns ('user_stats.price' or "
                  "'price'), e.g. a training set's raw rows");
  AddJoinOptions(*fit, flags->join);
  fit->add_option("--out", flags->out, "Where to write the fitted definition")->required();
  fit->callback([flags] { RunFit(*flags); });
}

struct BuildFlags {
  std::string definition, out;
  JoinFlags join;
};

void RunBuild(const BuildFlags& flags) {
  const FeatureDefinition definition =
      OrFail(features::LoadFeatureDefinition(flags.definition), "build");
  const auto pipeline = OrFail(features::FeaturePipeline::Create(definition), "build");
  const features::TrainingRows rows =
      JoinLabels(definition, flags.join.labels, flags.join.sources, flags.join.options);
  if (absl::Status s = features::WriteTrainingSet(flags.out, *pipeline, rows); !s.ok()) {
    Fail(s, "build");
  }
  spdlog::info("wrote {} rows x {} features to {}", rows.raw.rows(), pipeline->width(), flags.out);
}

void AddBuild(CLI::App& parent) {
  auto flags = std::make_shared<BuildFlags>();
  CLI::App* build = parent.add_subcommand(
      "build",
      "Write a point-in-time training set: each labelled event joined to every feature table's "
      "values as of its timestamp (no value from the future), transformed.\nExample: strata "
      "features build --definition fitted.yaml --labels labels.csv --source "
      "user_stats=users.csv --source product_info=products.csv --out train.csv");
  build->add_option("--definition", flags->definition, "features.yaml (fitted)")
      ->required()
      ->check(CLI::ExistingFile);
  AddJoinOptions(*build, flags->join);
  build->get_option("--labels")->required();
  build->add_option("--out", flags->out, "The training set (CSV: ts, label, features)")->required();
  build->callback([flags] { RunBuild(*flags); });
}

struct MaterializeFlags {
  std::string definition, table, source, staging;
  std::optional<int64_t> as_of;
  std::string event_time = "event_time";
  bool no_publish = false;
  int keep_versions = 3;
  StoreChoice store;
};

void RunMaterialize(const MaterializeFlags& flags) {
  const FeatureDefinition definition =
      OrFail(features::LoadFeatureDefinition(flags.definition, true), "materialize");
  const features::FeatureTable* table = definition.FindTable(flags.table);
  if (table == nullptr) {
    Fail(absl::InvalidArgumentError(fmt::format("the definition has no table '{}'", flags.table)),
         "materialize");
  }
  std::unique_ptr<store::TableStore> store = OpenStore(flags.store, "materialize");
  const features::SourceRows rows =
      OrFail(features::ReadSourceFile(
                 flags.source, features::TableSourceColumns(definition, *table, flags.event_time)),
             "materialize");
  spdlog::info("table '{}': {} source rows from {}", flags.table, rows.rows, flags.source);
  const fs::path scratch =
      flags.staging.empty() ? fs::temp_directory_path() : fs::path(flags.staging);
  const features::MaterializeResult result =
      OrFail(features::Materialize(*store, definition, rows,
                                   {.table = flags.table,
                                    .as_of = flags.as_of,
                                    .event_time_column = flags.event_time,
                                    .scratch = scratch,
                                    .publish = !flags.no_publish,
                                    .keep_versions = flags.keep_versions},
                                   [](int64_t n) { spdlog::info("{} entity rows written", n); }),
             "materialize");
  fmt::print(
      "table {} version {}: {} entity rows from {} source rows ({} after --as-of left "
      "out), checksum {}, {} in {}\n",
      flags.table, result.version, result.rows, result.source_rows, result.future_rows,
      result.checksum, result.published ? "published" : "not published", store->location());
}

void AddMaterialize(CLI::App& parent) {
  auto flags = std::make_shared<MaterializeFlags>();
  CLI::App* m = parent.add_subcommand(
      "materialize",
      "Write a feature table's new version (the latest row per entity key, at or before --as-of) "
      "into a table store, verified, then published atomically.\nExample: strata features "
      "materialize --definition features.yaml --table user_stats --source users.csv --tables "
      "tables/");
  m->add_option("--definition", flags->definition, "features.yaml")
      ->required()
      ->check(CLI::ExistingFile);
  m->add_option("--table", flags->table, "The feature table to write")->required();
  m->add_option("--source", flags->source,
                "Its rows (CSV or JSON Lines): entity keys, event time, columns")
      ->required()
      ->check(CLI::ExistingFile);
  m->add_option("--as-of", flags->as_of, "Leave out rows after this time (unix seconds)");
  m->add_option("--event-time-column", flags->event_time, "The event time column")
      ->capture_default_str();
  m->add_flag("--no-publish", flags->no_publish, "Write the version but do not make it current");
  m->add_option("--keep-versions", flags->keep_versions, "Older versions kept")
      ->capture_default_str();
  m->add_option("--staging", flags->staging, "Scratch directory (default: the system's temp)");
  AddStoreOptions(*m, flags->store);
  m->callback([flags] { RunMaterialize(*flags); });
}

struct SkewFlags {
  std::string log, definition, secret, training;
  StoreChoice store;
};

void PrintSkew(const features::SkewReport& report) {
  fmt::print("{} served rows recomputed, {} differ bit-wise, {} not recomputed\n", report.rows,
             report.differing_rows, report.unmatched);
  fmt::print("{:<24} {:>12} {:>12}\n", "feature", "differing", "psi");
  for (const features::FeatureSkew& f : report.features) {
    const double share = report.rows ? static_cast<double>(f.differing) / report.rows : 0;
    fmt::print("{:<24} {:>11.4f}% {:>12}\n", f.name, 100 * share,
               f.psi ? fmt::format("{:.4f}", *f.psi) : "-");
  }
  for (const std::string& p : report.problems) fmt::print("  {}\n", p);
}

void RunSkew(const SkewFlags& flags) {
  const FeatureDefinition definition =
      OrFail(features::LoadFeatureDefinition(flags.definition), "skew");
  const auto pipeline = OrFail(features::FeaturePipeline::Create(definition), "skew");
  features::KeyedHasher hasher = OrFail(features::KeyedHasher::FromFile(flags.secret), "skew");
  std::unique_ptr<store::TableStore> store = OpenStore(flags.store, "skew");
  features::SkewChecker checker(pipeline, *store, std::move(hasher));
  std::ifstream in(flags.log);
  if (!in) Fail(absl::NotFoundError(fmt::format("cannot read {}", flags.log)), "skew");
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    absl::StatusOr<features::ServedRow> row = features::ParseServedRow(line, definition);
    if (!row.ok()) {
      Fail(absl::InvalidArgumentError(fmt::format("{} line {}: {}", flags.log, number,
                                                  std::string(row.status().message()))),
           "skew");
    }
    checker.Add(*row);
    if (number % 100000 == 0) spdlog::info("{} log rows recomputed", number);
  }
  std::optional<features::SourceRows> training;
  if (!flags.training.empty()) {
    training = OrFail(features::ReadSourceFile(flags.training, checker.TrainingColumns()), "skew");
  }
  const features::SkewReport report = checker.Report(training ? &*training : nullptr);
  PrintSkew(report);
  if (report.differing_rows > 0 || report.unmatched > 0) std::exit(1);
}

void AddSkew(CLI::App& parent) {
  auto flags = std::make_shared<SkewFlags>();
  CLI::App* skew = parent.add_subcommand(
      "skew",
      "Recompute the server's served-feature log from the same table versions and report, per "
      "feature, the share of rows that differ bit-wise and the PSI (population stability index, "
      "10 quantile bins) against a training set. Exits 1 when any row differs.\nExample: strata "
      "features skew served.jsonl --definition models/purchase/1/features.yaml --secret "
      "secret.txt --tables tables/ --training train.csv");
  skew->add_option("log", flags->log, "The served-feature log (JSON Lines)")
      ->required()
      ->check(CLI::ExistingFile);
  skew->add_option("--definition", flags->definition, "The model version's features.yaml")
      ->required()
      ->check(CLI::ExistingFile);
  skew->add_option("--secret", flags->secret, "The file holding the log's keyed-hash secret")
      ->required()
      ->check(CLI::ExistingFile);
  skew->add_option("--training", flags->training,
                   "A training set (strata features build) to measure PSI against");
  AddStoreOptions(*skew, flags->store);
  skew->callback([flags] { RunSkew(*flags); });
}

}  // namespace

void AddFeaturesCommand(CLI::App& app) {
  CLI::App* features = app.add_subcommand(
      "features",
      "The feature pipeline offline: fit, build training sets, materialize feature tables, "
      "measure skew (docs/features.md)");
  features->require_subcommand(1);
  AddFit(*features);
  AddBuild(*features);
  AddMaterialize(*features);
  AddSkew(*features);
}

}  // namespace strata::cli
