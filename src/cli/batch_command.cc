#include "cli/batch_command.h"

#include <charconv>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>

#include "batch/batch_job.h"
#include "batch/feature_batch.h"
#include "cli/builtin_backends.h"
#include "cli/table_gc.h"
#include "cli/table_stores.h"
#include "features/feature_definition.h"
#include "features/feature_pipeline.h"
#include "fmt/format.h"
#include "runtime/library_error.h"
#include "serving/lifecycle/model_loader.h"
#include "spdlog/spdlog.h"
#include "store/artifact_signer.h"
#include "store/table_directory.h"

namespace strata::cli {
namespace {
namespace fs = std::filesystem;

struct BatchFlags {
  std::string repository;
  std::string model;
  int64_t model_version = 0;
  std::string input = "-";
  std::string input_format = "auto";
  std::string key;
  std::vector<std::string> maps;
  std::string table;
  bool no_publish = false;
  int keep_versions = 3;
  TableStoreFlags store;
  std::string output;
  std::string output_format = "auto";
  std::string shard = "0/1";
  std::string job_id;
  std::string staging;
  int threads = 0;
  int64_t chunk_rows = 65536;
  int64_t batch_size = 8192;
  std::string reject_file;
  std::optional<int64_t> min_rows, max_rows;
  int64_t max_nan = 0;
  std::optional<double> min_value, max_value, min_mean, max_mean;
  double max_psi = 0.25;
  int64_t max_rejected = -1;
  std::string progress = "auto";
  double progress_interval = 10;
  std::string signing_key;  // Ed25519 private key (PEM): SHA256SUMS.sig beside SHA256SUMS
};

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

absl::Status ParseShard(std::string_view text, int& index, int& count) {
  const size_t slash = text.find('/');
  auto number = [](std::string_view s, int& out) {
    auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), out);
    return err == std::errc() && end == s.data() + s.size();
  };
  if (slash == std::string_view::npos || !number(text.substr(0, slash), index) ||
      !number(text.substr(slash + 1), count) || count < 1 || index < 0 || index >= count) {
    return absl::InvalidArgumentError(
        fmt::format("--shard '{}' is not i/N with 0 <= i < N (e.g. 0/4)", text));
  }
  return absl::OkStatus();
}

// Loads `flags.model` (the given version, or the highest) from the repository.
absl::StatusOr<int64_t> LoadModel(const BatchFlags& flags, const runtime::BackendRegistry& backends,
                                  batch::BatchJobOptions& options) {
  const serving::ModelLoader loader(backends);
  absl::StatusOr<serving::LoadedModel> loaded = loader.LoadNewest(
      fs::path(flags.repository) / "models" / flags.model, flags.model, flags.model_version);
  if (!loaded.ok()) {
    const std::string detail = runtime::LibraryDetail(loaded.status());
    return absl::Status(loaded.status().code(), fmt::format("model '{}': {}{}{}", flags.model,
                                                            std::string(loaded.status().message()),
                                                            detail.empty() ? "" : ": ", detail));
  }
  options.model_config = std::move(loaded->spec.config);
  options.model = std::shared_ptr<runtime::Model>(std::move(loaded->model));
  options.model_version = loaded->version;
  return loaded->version;
}

void PrintSummary(const batch::BatchJobResult& r, const batch::BatchJobOptions& o) {
  fmt::print("job: {}\n", r.job_id);
  fmt::print("rows processed: {} (resumed from checkpoints: {}) in {:.2f} s\n", r.rows_processed,
             r.rows_resumed, r.seconds);
  if (!r.finalized) {
    if (r.version > 0) fmt::print("already complete: table version {}\n", r.version);
    return;
  }
  fmt::print("rows: {}\n", r.rows);
  if (!o.reject_path.empty()) fmt::print("rejected: {} (in {})\n", r.rejected, o.reject_path);
  fmt::print("checksum: {}\n", r.checksum);
  for (const store::OutputStats& s : r.report.outputs) {
    fmt::print("output {}: min {} max {} mean {} p50 {} nan {} inf {}\n", s.name, s.min, s.max,
               s.mean, s.Quantile(0.5), s.nan, s.inf);
  }
  if (r.report.psi) {
    fmt::print("psi vs version {}: {:.4f}\n", r.report.previous_version, *r.report.psi);
  }
  fmt::print("verification: {}\n", r.verified ? "passed" : "FAILED");
  if (r.verified && o.store != nullptr) {
    fmt::print("table: {} version {} {}\n", o.table, r.version,
               r.published ? "(published)" : "(not published)");
  } else if (r.verified) {
    fmt::print("output: {}\n", o.output_path);
  }
  fmt::print("rate: {:.0f} rows/s\n", r.seconds > 0 ? r.rows_processed / r.seconds : 0.0);
}

// After a publish to Redis: versions that earlier runs killed mid-write left
// behind, untouched for an hour, are removed (`strata table gc`).
void CollectAbandonedVersions(const BatchFlags& flags) {
  TableGcOptions gc;
  gc.store = flags.store;
  gc.repository = flags.repository;
  gc.tables = {flags.table};
  absl::StatusOr<TableGcResult> result = CollectTableGarbage(gc);
  if (!result.ok()) {
    spdlog::warn("table gc after publishing: {}", std::string(result.status().message()));
    return;
  }
  for (const std::string& line : result->removed) fmt::print("table gc: removed {}\n", line);
}

int Fail(const absl::Status& s) {
  fmt::print(stderr, "strata batch: {}\n", std::string(s.message()));
  return 1;
}

// The input, key, mapping and shard flags.
absl::Status SetInput(const BatchFlags& flags, batch::BatchJobOptions& options) {
  if (flags.table.empty() == flags.output.empty()) {
    return absl::InvalidArgumentError("name exactly one output: --table NAME or --output FILE");
  }
  absl::StatusOr<store::KeySchema> key = store::KeySchema::Parse(flags.key);
  if (!key.ok()) return key.status();
  options.key = *key;
  for (const std::string& map : flags.maps) {
    if (absl::Status s = batch::ParseMappingFlag(map, options.mapping); !s.ok()) return s;
  }
  if (absl::Status s = ParseShard(flags.shard, options.shard_index, options.shard_count); !s.ok()) {
    return s;
  }
  std::string input_format = flags.input_format;
  if (input_format == "auto") {
    input_format =
        EndsWith(flags.input, ".jsonl") || EndsWith(flags.input, ".json") ? "jsonl" : "csv";
  }
  options.input = flags.input;
  options.input_format =
      input_format == "jsonl" ? batch::InputFormat::kJsonl : batch::InputFormat::kCsv;
  return absl::OkStatus();
}

// A table output: the store (kept in `table_store`), the table, publishing.
// A RocksDB version gets its SHA256SUMS (signed with --signing-key) before
// it is published; a Redis version has no files: its manifest is signed.
absl::Status SetTableOutput(const BatchFlags& flags, const store::ArtifactSigner& signer,
                            batch::BatchJobOptions& options,
                            std::unique_ptr<store::TableStore>& table_store) {
  if (absl::Status s = store::ValidateTableName(flags.table); !s.ok()) return s;
  TableStoreFlags store_flags = flags.store;
  if (signer.signs()) store_flags.artifact_signer = std::make_shared<store::ArtifactSigner>(signer);
  absl::StatusOr<std::unique_ptr<store::TableStore>> created =
      CreateTableStore(store_flags, flags.repository);
  if (!created.ok()) return created.status();
  table_store = *std::move(created);
  options.store = table_store.get();
  options.table = flags.table;
  options.publish = !flags.no_publish;
  options.keep_versions = flags.keep_versions;
  const fs::path tables = flags.store.tables.empty() ? fs::path(flags.repository) / "tables"
                                                     : fs::path(flags.store.tables);
  options.staging_root =
      flags.staging.empty() ? tables / ".staging" / flags.table : fs::path(flags.staging);
  if (flags.store.store == "redis") return absl::OkStatus();
  options.on_commit = [signer, directory = store::TableDirectory(tables),
                       table = flags.table](int64_t version) {
    return signer.SignDirectory(directory.VersionDir(table, version));
  };
  return absl::OkStatus();
}

void SetFileOutput(const BatchFlags& flags, batch::BatchJobOptions& options) {
  std::string output_format = flags.output_format;
  if (output_format == "auto") output_format = EndsWith(flags.output, ".jsonl") ? "jsonl" : "csv";
  options.output_path = flags.output;
  options.output_format =
      output_format == "jsonl" ? batch::OutputFormat::kJsonl : batch::OutputFormat::kCsv;
  options.staging_root =
      flags.staging.empty() ? fs::path(flags.output + ".staging") : fs::path(flags.staging);
}

// How the job runs: job id, threads, sizes, rejects, checks and progress.
void SetJobFlags(const BatchFlags& flags, batch::BatchJobOptions& options) {
  options.job_id = flags.job_id;
  options.threads = flags.threads;
  options.chunk_rows = flags.chunk_rows;
  options.batch_size = flags.batch_size;
  options.reject_path = flags.reject_file;
  options.expect = {.min_rows = flags.min_rows,
                    .max_rows = flags.max_rows,
                    .max_nan = flags.max_nan,
                    .min_value = flags.min_value,
                    .max_value = flags.max_value,
                    .min_mean = flags.min_mean,
                    .max_mean = flags.max_mean,
                    .max_psi = flags.max_psi,
                    .max_rejected = flags.max_rejected};
  options.progress = flags.progress == "bar"     ? batch::ProgressMode::kBar
                     : flags.progress == "lines" ? batch::ProgressMode::kLines
                     : flags.progress == "off"   ? batch::ProgressMode::kOff
                                                 : batch::ProgressMode::kAuto;
  options.progress_interval_s = flags.progress_interval;
}

// Prints the job's result; the exit code: 0, 1 (failed) or 3 (verification
// failed, nothing published).
int Report(const absl::StatusOr<batch::BatchJobResult>& result, const BatchFlags& flags,
           const batch::BatchJobOptions& options) {
  if (!result.ok()) {
    fmt::print(stderr, "strata batch: {}\nnothing was published\n",
               std::string(result.status().message()));
    return 1;
  }
  PrintSummary(*result, options);
  if (result->published && flags.store.store == "redis") CollectAbandonedVersions(flags);
  if (result->finalized && !result->verified) {
    for (const store::CheckResult& c : result->report.checks) {
      if (!c.passed) fmt::print(stderr, "verification failed: {}: {}\n", c.name, c.detail);
    }
    fmt::print(stderr, "nothing was published\n");
    return 3;
  }
  return 0;
}

// A model version with features.yaml: its pipeline, and its feature tables
// at the versions published now (from the output's store, or the store
// flags' for a file output).
struct BatchFeatures {
  std::unique_ptr<store::TableStore> store;
  std::unique_ptr<batch::PublishedFeatureTables> tables;
};

absl::Status SetFeatures(const BatchFlags& flags, batch::BatchJobOptions& options,
                         BatchFeatures& features) {
  const fs::path file = fs::path(flags.repository) / "models" / flags.model /
                        std::to_string(options.model_version) / features::kFeatureDefinitionFile;
  std::error_code ec;
  if (!fs::exists(file, ec)) return absl::OkStatus();
  absl::StatusOr<features::FeatureDefinition> definition = features::LoadFeatureDefinition(file);
  if (!definition.ok()) return definition.status();
  absl::StatusOr<std::shared_ptr<const features::FeaturePipeline>> pipeline =
      features::FeaturePipeline::Create(*std::move(definition));
  if (!pipeline.ok()) return pipeline.status();
  store::TableStore* store = options.store;
  if (store == nullptr) {
    absl::StatusOr<std::unique_ptr<store::TableStore>> created =
        CreateTableStore(flags.store, flags.repository);
    if (!created.ok()) return created.status();
    features.store = *std::move(created);
    store = features.store.get();
  }
  absl::StatusOr<std::unique_ptr<batch::PublishedFeatureTables>> tables =
      batch::PublishedFeatureTables::Open(*store, (*pipeline)->definition());
  if (!tables.ok()) return tables.status();
  features.tables = *std::move(tables);
  options.features = *pipeline;
  options.feature_tables = features.tables.get();
  options.feature_table_versions = features.tables->versions();
  options.features_now = static_cast<int64_t>(std::time(nullptr));
  for (const auto& [table, version] : features.tables->versions()) {
    spdlog::info("batch: features from table '{}' version {}", table, version);
  }
  return absl::OkStatus();
}

int RunBatch(const BatchFlags& flags) {
  absl::StatusOr<store::ArtifactSigner> signer =
      flags.signing_key.empty() ? store::ArtifactSigner()
                                : store::ArtifactSigner::WithKeyFile(flags.signing_key);
  if (!signer.ok()) return Fail(signer.status());
  batch::BatchJobOptions options;
  if (absl::Status s = SetInput(flags, options); !s.ok()) return Fail(s);
  const runtime::BackendRegistry backends = BuiltinBackends();
  absl::StatusOr<int64_t> version = LoadModel(flags, backends, options);
  if (!version.ok()) return Fail(version.status());
  std::unique_ptr<store::TableStore> table_store;
  if (!flags.table.empty()) {
    if (absl::Status s = SetTableOutput(flags, *signer, options, table_store); !s.ok()) {
      return Fail(s);
    }
  } else {
    SetFileOutput(flags, options);
  }
  BatchFeatures features;
  if (absl::Status s = SetFeatures(flags, options, features); !s.ok()) return Fail(s);
  SetJobFlags(flags, options);
  spdlog::info("batch: model '{}' version {} over {}, shard {}/{}", flags.model, *version,
               flags.input, options.shard_index, options.shard_count);
  absl::StatusOr<batch::BatchJobResult> result = batch::RunBatchJob(options);
  if (result.ok() && result->verified && options.store == nullptr && flags.output != "-") {
    if (absl::Status s = signer->SignFile(flags.output); !s.ok()) return Fail(s);
  }
  return Report(result, flags, options);
}

void AddInputFlags(CLI::App& cmd, BatchFlags& f) {
  cmd.set_config("--config", "", "Job config file: one flag per line, TOML style (key = value)");
  cmd.add_option("-r,--repository", f.repository, "Repository holding models/<model>/")->required();
  cmd.add_option("-m,--model", f.model, "Model name")->required();
  cmd.add_option("--model-version", f.model_version, "Model version (default: highest)");
  cmd.add_option("-i,--input", f.input, "Input file, or - for stdin")->capture_default_str();
  cmd.add_option("--input-format", f.input_format, "csv, jsonl or auto (by extension)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "csv", "jsonl"}));
  cmd.add_option("-k,--key", f.key,
                 "Key columns, passed through: name[:INT64|:BYTES],... (default BYTES)")
      ->required();
  cmd.add_option("--map", f.maps,
                 "Columns of a model input: INPUT=COL,COL,... (default: the column named "
                 "like the input, or every non-key column for a single input)");
}

void AddOutputFlags(CLI::App& cmd, BatchFlags& f) {
  cmd.add_option("-t,--table", f.table, "Write a prediction table of this name");
  cmd.add_flag("--no-publish", f.no_publish,
               "Build and verify the version, do not make it current");
  cmd.add_option("--keep-versions", f.keep_versions, "Table versions kept after publishing")
      ->capture_default_str();
  AddTableStoreFlags(cmd, f.store);
  cmd.add_option("-o,--output", f.output, "Write a CSV or JSON Lines file instead of a table");
  cmd.add_option("--signing-key", f.signing_key,
                 "Ed25519 private key (PEM): sign the SHA256SUMS written into each table "
                 "version (RocksDB) and beside an output file (FILE.SHA256SUMS), as "
                 "SHA256SUMS.sig, and a Redis table version's manifest (its manifest.sig "
                 "key), for `strata serve --trusted-key`")
      ->check(CLI::ExistingFile);
  cmd.add_option("--output-format", f.output_format, "csv, jsonl or auto (by extension)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "csv", "jsonl"}));
}

void AddJobFlags(CLI::App& cmd, BatchFlags& f) {
  cmd.add_option("--shard", f.shard, "This process's share i/N of the chunks")
      ->capture_default_str();
  cmd.add_option("--job-id", f.job_id,
                 "Job id (default: derived from the arguments; the same id resumes)");
  cmd.add_option("--staging", f.staging, "Directory of job state and checkpoints");
  cmd.add_option("--threads", f.threads, "Worker threads; 0 = one per core")->capture_default_str();
  cmd.add_option("--chunk-rows", f.chunk_rows, "Rows per chunk (the checkpoint unit)")
      ->capture_default_str();
  cmd.add_option("--batch-size", f.batch_size, "Rows per model run")->capture_default_str();
  cmd.add_option("--reject-file", f.reject_file,
                 "Skip malformed rows into this file (line, reason, row) instead of failing");
}

void AddVerificationFlags(CLI::App& cmd, BatchFlags& f) {
  cmd.add_option("--expect-min-rows", f.min_rows, "Verification: at least this many rows");
  cmd.add_option("--expect-max-rows", f.max_rows, "Verification: at most this many rows");
  cmd.add_option("--expect-max-nan", f.max_nan, "Verification: NaN/inf values allowed")
      ->capture_default_str();
  cmd.add_option("--expect-min", f.min_value, "Verification: smallest allowed value");
  cmd.add_option("--expect-max", f.max_value, "Verification: largest allowed value");
  cmd.add_option("--expect-min-mean", f.min_mean, "Verification: lowest mean of the first output");
  cmd.add_option("--expect-max-mean", f.max_mean, "Verification: highest mean of the first output");
  cmd.add_option("--max-psi", f.max_psi,
                 "Verification: largest PSI against the current version; 0 disables")
      ->capture_default_str();
  cmd.add_option("--expect-max-rejected", f.max_rejected,
                 "Verification: most rows rejected; -1 = any")
      ->capture_default_str();
}

void AddProgressFlags(CLI::App& cmd, BatchFlags& f) {
  cmd.add_option("--progress", f.progress, "auto, bar, lines or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "bar", "lines", "off"}));
  cmd.add_option("--progress-interval", f.progress_interval, "Seconds between progress lines")
      ->capture_default_str();
}

}  // namespace

void AddBatchCommand(CLI::App& app) {
  auto f = std::make_shared<BatchFlags>();
  CLI::App* cmd = app.add_subcommand(
      "batch",
      "Run a model over input rows and write predictions, keys passed through, to a "
      "table or a file.\nExample: strata batch -r repo -m sales_gbdt -i forecast.csv "
      "-k store_id:INT64,product_id:INT64,date -t sales_forecast");
  AddInputFlags(*cmd, *f);
  AddOutputFlags(*cmd, *f);
  AddJobFlags(*cmd, *f);
  AddVerificationFlags(*cmd, *f);
  AddProgressFlags(*cmd, *f);
  cmd->callback([f] { throw CLI::RuntimeError(RunBatch(*f)); });
}

}  // namespace strata::cli
