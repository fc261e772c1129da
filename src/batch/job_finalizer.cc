#include "batch/job_finalizer.h"

#include <fstream>

#include "batch/chunk_processor.h"
#include "batch/prediction_stats.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "store/sorted_run.h"
#include "store/table_checksum.h"
#include "store/table_directory.h"

namespace strata::batch {
namespace fs = std::filesystem;
namespace {

std::string DescribeKey(const store::KeySchema& schema, std::string_view key) {
  absl::StatusOr<std::vector<store::KeyValue>> values = schema.Decode(key);
  if (!values.ok()) return "?";
  std::string out;
  for (size_t c = 0; c < values->size(); ++c) {
    if (c) out += ", ";
    out += schema.columns()[c].name + "=";
    std::visit([&](const auto& v) { out += fmt::format("{}", v); }, (*values)[c]);
  }
  return out;
}

// Concatenates the chunks' reject files in chunk order into `path`; returns
// the number of rejected rows.
absl::StatusOr<int64_t> GatherRejects(const fs::path& parts, int64_t chunks,
                                      const std::string& path) {
  std::string all;
  int64_t count = 0;
  for (int64_t i = 0; i < chunks; ++i) {
    absl::StatusOr<std::string> text = store::ReadFile(ChunkProcessor::RejectsPath(parts, i));
    if (!text.ok()) continue;
    count += std::count(text->begin(), text->end(), '\n');
    all += *text;
  }
  if (absl::Status s = store::WriteFileAtomically(path, all); !s.ok()) return s;
  return count;
}

}  // namespace

absl::Status FinalizeJob(const BatchJobOptions& options, const fs::path& job_dir, int64_t chunks,
                         const std::vector<store::OutputColumn>& outputs, BatchJobResult& result) {
  const fs::path parts = job_dir / "parts";
  std::vector<fs::path> runs;
  for (int64_t i = 0; i < chunks; ++i) {
    runs.push_back(ChunkProcessor::RunPath(parts, i));
    std::error_code ec;
    if (!fs::exists(runs.back(), ec)) {
      return absl::InternalError(
          fmt::format("chunk {} has no run ({}); run its shard again", i, runs.back().string()));
    }
  }
  if (!options.reject_path.empty()) {
    absl::StatusOr<int64_t> rejected = GatherRejects(parts, chunks, options.reject_path);
    if (!rejected.ok()) return rejected.status();
    result.rejected = *rejected;
  }

  const bool to_table = options.store != nullptr;
  std::unique_ptr<store::TableManifest> previous;
  if (to_table) {
    absl::StatusOr<int64_t> current = options.store->CurrentVersion(options.table);
    if (current.ok() && *current > 0) {
      absl::StatusOr<store::TableManifest> manifest =
          options.store->ReadManifest(options.table, *current);
      if (manifest.ok()) {
        previous = std::make_unique<store::TableManifest>(*std::move(manifest));
      }
    }
  }
  std::unique_ptr<store::TableBuilder> builder;
  std::unique_ptr<FileOutputWriter> file;
  if (to_table) {
    absl::StatusOr<std::unique_ptr<store::TableBuilder>> b =
        options.store->NewBuilder(options.table, job_dir);
    if (!b.ok()) return b.status();
    builder = *std::move(b);
  } else {
    absl::StatusOr<std::unique_ptr<FileOutputWriter>> f =
        FileOutputWriter::Create(options.output_path, options.output_format, options.key, outputs);
    if (!f.ok()) return f.status();
    file = *std::move(f);
  }

  absl::StatusOr<store::SortedRunMerger> merger = store::SortedRunMerger::Open(runs, parts);
  if (!merger.ok()) return merger.status();
  PredictionStats stats(outputs);
  store::TableChecksum checksum;
  std::string previous_key;
  std::vector<std::string_view> key_texts;
  std::string_view values;
  int64_t rows = 0;
  while (merger->Next()) {
    const std::string_view key = merger->key();
    const std::string_view value = merger->value();
    if (to_table) {
      if (rows > 0 && key == previous_key) {
        return absl::InvalidArgumentError(
            fmt::format("duplicate key ({}): two input rows have the same key columns",
                        DescribeKey(options.key, key)));
      }
      previous_key.assign(key);
      absl::Status s = builder->Add(key, value);
      if (!s.ok()) return s;
      values = value;
    } else {
      if (!DecodeFileValue(value, options.key.size(), key_texts, values)) {
        return absl::DataLossError("a run record is malformed");
      }
      absl::Status s = file->Write(key_texts, values);
      if (!s.ok()) return s;
    }
    stats.Add(store::TableChecksum::Hash(key, 0), values);
    checksum.Add(key, values);
    ++rows;
  }
  if (absl::Status s = merger->status(); !s.ok()) return s;

  std::vector<store::OutputStats> summary = stats.Finish();
  std::optional<double> psi;
  if (previous != nullptr && !previous->verification.outputs.empty()) {
    psi = stats.Psi(previous->verification.outputs[0]);
  }
  result.rows = rows;
  result.checksum = checksum.ToString();
  result.report = Verify(summary, rows, result.rejected, options.expect, previous.get(), psi);
  result.finalized = true;
  result.verified = result.report.passed;
  if (!result.verified) return absl::OkStatus();  // builder/file discarded

  if (!to_table) return file->Finish();
  store::TableManifest manifest;
  manifest.table = options.table;
  manifest.model_name = options.model_config.name;
  manifest.model_version = options.model_version;
  manifest.key = options.key;
  manifest.outputs = outputs;
  manifest.rows = rows;
  manifest.created = store::UtcNow();
  manifest.checksum = result.checksum;
  manifest.job = result.job_id;
  manifest.feature_tables = options.feature_table_versions;
  manifest.verification = result.report;
  absl::StatusOr<int64_t> version = builder->Commit(std::move(manifest));
  if (!version.ok()) return version.status();
  result.version = *version;
  if (options.on_commit) {
    if (absl::Status s = options.on_commit(*version); !s.ok()) return s;
  }
  if (options.publish) {
    absl::Status s = options.store->SetCurrentVersion(options.table, *version);
    if (!s.ok()) return s;
    result.published = true;
    absl::StatusOr<int> removed =
        options.store->RemoveOldVersions(options.table, options.keep_versions);
    if (!removed.ok()) {
      spdlog::warn("old versions of table '{}' were not removed: {}", options.table,
                   std::string(removed.status().message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace strata::batch
