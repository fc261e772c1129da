// RunBatchJob runs one model version over input rows and writes one
// prediction per row, with the row's key columns passed through, to a
// prediction table (published atomically after verification) or to a
// CSV / JSON Lines file.
//
// The input is cut into chunks of `chunk_rows` rows (batch/chunk_reader.h).
// Worker threads take chunks in turn, decode them, run the model in batches
// of `batch_size` rows and write each chunk's records as a sorted run into
// the job directory <staging_root>/<job_id>/parts/: reading, inference and
// writing overlap, and memory is bounded by threads x chunk_rows whatever
// the input size. A finished run is the chunk's checkpoint: a job killed at
// any point and started again with the same arguments skips the chunks
// whose runs exist, and, because every run depends only on its chunk, ends
// with the same table. With --shard i/N a process does only chunks k with
// k % N == i; the process that finishes the last shard merges every run
// (one sorted pass), computes statistics and the checksum, verifies, and
// builds and publishes one table version.
//
// Thread-compatible: one job per call; the call uses `threads` workers.
#ifndef STRATA_BATCH_BATCH_JOB_H_
#define STRATA_BATCH_BATCH_JOB_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "batch/file_output_writer.h"
#include "batch/progress_reporter.h"
#include "batch/row_decoder.h"
#include "batch/verifier.h"
#include "features/feature_lookup.h"
#include "features/feature_pipeline.h"
#include "runtime/model.h"
#include "runtime/model_config.h"
#include "store/key_schema.h"
#include "store/table_store.h"

namespace strata::batch {

struct BatchJobOptions {
  // The model version to run, loaded by the caller.
  runtime::ModelConfig model_config;
  std::shared_ptr<runtime::Model> model;
  int64_t model_version = 0;

  // A model version with features.yaml (batch/feature_batch.h): rows carry
  // entity keys and request fields; the feature tables are read from
  // `feature_tables` (not owned) and their versions go into the manifest.
  std::shared_ptr<const features::FeaturePipeline> features;
  const features::FeatureTableSource* feature_tables = nullptr;
  std::map<std::string, int64_t, std::less<>> feature_table_versions;
  int64_t features_now = 0;  // unix seconds: max_age is judged at job start

  std::string input = "-";  // a path, or "-" for stdin
  InputFormat input_format = InputFormat::kCsv;
  store::KeySchema key;
  InputMapping mapping;

  // The output: a table of `store` (when set), else a file.
  store::TableStore* store = nullptr;  // not owned
  std::string table;
  bool publish = true;  // make the new version current
  // Called with the version once it is committed, before it is published
  // (`strata batch` writes its SHA256SUMS there); an error publishes nothing.
  std::function<absl::Status(int64_t version)> on_commit = nullptr;
  int keep_versions = 3;  // older versions (not current) are removed
  std::string output_path;
  OutputFormat output_format = OutputFormat::kCsv;

  int shard_index = 0;
  int shard_count = 1;
  std::string job_id;                  // empty: derived from the arguments
  std::filesystem::path staging_root;  // the job directory's parent
  int threads = 0;                     // 0: one per core
  int64_t chunk_rows = 65536;
  int64_t batch_size = 8192;  // rows per model run
  std::string reject_path;    // empty: a malformed row fails the job

  Expectations expect;
  ProgressMode progress = ProgressMode::kAuto;
  double progress_interval_s = 10;
};

struct BatchJobResult {
  std::string job_id;
  int64_t rows_processed = 0;  // by this run of this shard
  int64_t rows_resumed = 0;    // skipped: checkpointed by an earlier run
  double seconds = 0;
  // Whether this process merged the shards; false while others still run.
  bool finalized = false;
  int64_t rows = 0;       // in the output
  int64_t rejected = 0;   // malformed rows skipped into the reject file
  bool verified = false;  // false: nothing was published, see report
  int64_t version = 0;    // the table version written
  bool published = false;
  std::string checksum;
  store::VerificationReport report;
};

// The job id for `options`: a hash of everything that decides the output
// (model version, input identity, key, mapping, output, shard count, chunk
// size), so that the same arguments resume the same job.
std::string DeriveJobId(const BatchJobOptions& options);

// INVALID_ARGUMENT for a malformed row ("line 17: ..."), for columns that do
// not fit the model, or a duplicate key; a failed verification is a result
// with verified == false.
absl::StatusOr<BatchJobResult> RunBatchJob(const BatchJobOptions& options);

}  // namespace strata::batch

#endif  // STRATA_BATCH_BATCH_JOB_H_
