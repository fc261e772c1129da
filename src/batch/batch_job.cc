#include "batch/batch_job.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <thread>

#include "batch/chunk_processor.h"
#include "batch/chunk_reader.h"
#include "batch/job_finalizer.h"
#include "core/mutex.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "spdlog/spdlog.h"
#include "store/table_checksum.h"
#include "store/table_directory.h"

namespace strata::batch {
namespace fs = std::filesystem;
namespace {

// An exclusive flock held for the object's lifetime.
class FileLock {
 public:
  static absl::StatusOr<FileLock> Acquire(const fs::path& path, bool wait) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
    if (fd < 0) {
      return absl::InternalError(fmt::format("cannot open {}", path.string()));
    }
    if (::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
      ::close(fd);
      return absl::FailedPreconditionError(fmt::format(
          "{} is locked: another process is running this shard of the job", path.string()));
    }
    return FileLock(fd);
  }
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

std::optional<int64_t> ReadNumber(const fs::path& path) {
  absl::StatusOr<std::string> text = store::ReadFile(path);
  if (!text.ok()) return std::nullopt;
  int64_t n = 0;
  auto [end, err] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (err != std::errc()) return std::nullopt;
  return n;
}

}  // namespace

std::string DeriveJobId(const BatchJobOptions& o) {
  std::string input = o.input;
  struct stat st {};
  if (o.input != "-" && ::stat(o.input.c_str(), &st) == 0) {
    std::error_code ec;
    input = fmt::format("{}:{}:{}.{}", fs::absolute(o.input, ec).string(), st.st_size,
                        st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  }
  std::string mapping;
  for (const auto& [name, columns] : o.mapping) {
    mapping += fmt::format("{}={};", name, fmt::join(columns, ","));
  }
  for (const auto& [table, version] : o.feature_table_versions) {
    mapping += fmt::format("features:{}@{};", table, version);
  }
  const std::string description =
      fmt::format("v1|model={}:{}|input={}|format={}|key={}|map={}|out={}|shards={}|chunk={}",
                  o.model_config.name, o.model_version, input, static_cast<int>(o.input_format),
                  o.key.ToString(), mapping,
                  o.store != nullptr
                      ? fmt::format("table:{}:{}", o.store->kind(), o.table)
                      : fmt::format("file:{}:{}", o.output_path, static_cast<int>(o.output_format)),
                  o.shard_count, o.chunk_rows);
  return fmt::format("{:016x}", store::TableChecksum::Hash(description, 7));
}

namespace {

absl::Status ValidateOptions(const BatchJobOptions& options) {
  if (options.shard_count < 1 || options.shard_index < 0 ||
      options.shard_index >= options.shard_count) {
    return absl::InvalidArgumentError(
        fmt::format("shard {}/{} is not valid: use i/N with 0 <= i < N", options.shard_index,
                    options.shard_count));
  }
  if (options.chunk_rows < 1 || options.batch_size < 1) {
    return absl::InvalidArgumentError("chunk rows and batch size must be positive");
  }
  return absl::OkStatus();
}

// The job directory <staging_root>/<job_id>: parts/ holds the chunks' runs,
// shards/ each shard's lock and done mark.
struct JobDirectory {
  fs::path root;
  fs::path parts() const { return root / "parts"; }
  fs::path shard_file(int shard, std::string_view suffix) const {
    return root / "shards" / fmt::format("{}.{}", shard, suffix);
  }
  fs::path finalized() const { return root / "finalized"; }

  absl::Status Create() const {
    std::error_code ec;
    fs::create_directories(parts(), ec);
    fs::create_directories(root / "shards", ec);
    if (ec) {
      return absl::InternalError(
          fmt::format("cannot create job directory {}: {}", root.string(), ec.message()));
    }
    return absl::OkStatus();
  }

  // Whether the job was completed by an earlier run; sets its version.
  bool AlreadyFinalized(BatchJobResult& result) const {
    const std::optional<int64_t> done = ReadNumber(finalized());
    if (!done) return false;
    spdlog::info(
        "job {} is already complete (table version {}); pass another "
        "--job-id to run it again",
        result.job_id, *done);
    result.version = *done;
    return true;
  }
};

// This shard's pass over the input: worker threads take this shard's chunks
// not yet checkpointed, in turn, and process them; the others are skipped.
class ShardPass {
 public:
  ShardPass(const BatchJobOptions& options, ChunkReader& reader, const ChunkProcessor& processor,
            fs::path parts)
      : options_(options), reader_(reader), processor_(processor), parts_(std::move(parts)) {}

  // Runs `threads` workers to the end of the input or the first failure.
  absl::Status Run(int threads) {
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) pool.emplace_back([this] { Work(); });
    for (std::thread& t : pool) t.join();
    core::MutexLock lock(mutex_);
    return failure_;
  }

  ProgressSnapshot Progress() const {
    return ProgressSnapshot{rows_done_.load() + rows_resumed_.load(), reader_.bytes_read(),
                            reader_.total_bytes()};
  }
  int64_t rows_done() const { return rows_done_; }
  int64_t rows_resumed() const { return rows_resumed_; }
  // The number of chunks in the input, known once the pass has succeeded.
  int64_t chunks() {
    core::MutexLock lock(mutex_);
    return chunks_;
  }

 private:
  void Work() {
    Chunk chunk;
    while (NextChunk(chunk)) {
      absl::StatusOr<int64_t> processed = processor_.Process(chunk);
      if (!processed.ok()) {
        core::MutexLock lock(mutex_);
        if (failure_.ok()) failure_ = processed.status();
        return;
      }
      rows_done_ += chunk.rows;
    }
  }

  // The next chunk of this shard to process; false at the end or on failure.
  bool NextChunk(Chunk& chunk) {
    core::MutexLock lock(mutex_);
    while (failure_.ok() && chunks_ < 0) {
      const int64_t index = reader_.next_index();
      const bool mine = index % options_.shard_count == options_.shard_index;
      const bool done = mine && fs::exists(ChunkProcessor::RunPath(parts_, index));
      absl::StatusOr<std::optional<Chunk>> next = reader_.Next(!mine || done);
      if (!next.ok()) {
        failure_ = next.status();
      } else if (!next->has_value()) {
        chunks_ = index;
      } else if (done) {
        rows_resumed_ += (*next)->rows;
      } else if (mine) {
        chunk = **std::move(next);
        return true;
      }
    }
    return false;
  }

  const BatchJobOptions& options_;
  ChunkReader& reader_;  // read under mutex_
  const ChunkProcessor& processor_;
  const fs::path parts_;
  core::Mutex mutex_;
  int64_t chunks_ ABSL_GUARDED_BY(mutex_) = -1;  // known at the end of the input
  absl::Status failure_ ABSL_GUARDED_BY(mutex_);
  std::atomic<int64_t> rows_done_{0}, rows_resumed_{0};
};

// The row decoder, or for a model with features.yaml the feature stage.
absl::Status CreateDecoder(const BatchJobOptions& options, std::string_view header,
                           std::unique_ptr<RowDecoder>& decoder,
                           std::unique_ptr<FeatureBatch>& features) {
  if (options.features != nullptr) {
    absl::StatusOr<std::unique_ptr<FeatureBatch>> created =
        FeatureBatch::Create(options.input_format, header, options.key, options.model_config,
                             options.features, *options.feature_tables, options.features_now);
    if (!created.ok()) return created.status();
    features = *std::move(created);
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<RowDecoder>> created = RowDecoder::Create(
      options.input_format, header, options.key, options.model_config, options.mapping);
  if (!created.ok()) return created.status();
  decoder = *std::move(created);
  return absl::OkStatus();
}

// Decodes, runs and writes this shard's chunks into the job's parts.
absl::Status ProcessShard(const BatchJobOptions& options, const JobDirectory& dir,
                          const std::vector<store::OutputColumn>& outputs, int64_t& chunks,
                          BatchJobResult& result) {
  const bool csv = options.input_format == InputFormat::kCsv;
  absl::StatusOr<std::unique_ptr<ChunkReader>> reader =
      ChunkReader::Open(options.input, csv, options.chunk_rows);
  if (!reader.ok()) return reader.status();
  std::unique_ptr<RowDecoder> decoder;
  std::unique_ptr<FeatureBatch> features;
  if (absl::Status s = CreateDecoder(options, (*reader)->header(), decoder, features); !s.ok()) {
    return s;
  }
  const ChunkProcessor processor({.model_config = &options.model_config,
                                  .model = options.model.get(),
                                  .decoder = decoder.get(),
                                  .features = features.get(),
                                  .outputs = outputs,
                                  .parts_dir = dir.parts(),
                                  .batch_size = options.batch_size,
                                  .file_output = options.store == nullptr,
                                  .reject = !options.reject_path.empty()});
  ShardPass pass(options, **reader, processor, dir.parts());
  ProgressReporter progress(options.progress, options.progress_interval_s);
  progress.Start([&pass] { return pass.Progress(); });
  const int threads =
      options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  absl::Status status = pass.Run(threads);
  progress.Stop();
  result.rows_processed = pass.rows_done();
  result.rows_resumed = pass.rows_resumed();
  chunks = pass.chunks();
  return status;
}

// Whether every shard is done (this process then publishes); error when the
// shards saw different inputs.
absl::StatusOr<bool> AllShardsDone(const BatchJobOptions& options, const JobDirectory& dir,
                                   int64_t chunks) {
  for (int i = 0; i < options.shard_count; ++i) {
    const std::optional<int64_t> seen = ReadNumber(dir.shard_file(i, "done"));
    if (!seen) {
      spdlog::info(
          "shard {}/{} done; shard {} has not finished, the last shard "
          "to finish publishes",
          options.shard_index, options.shard_count, i);
      return false;
    }
    if (*seen != chunks) {
      return absl::FailedPreconditionError(fmt::format(
          "shard {} saw {} chunks but this shard saw {}: the shards read different inputs", i,
          *seen, chunks));
    }
  }
  return true;
}

// Merges every shard's runs into the output; a verified job is marked
// complete and its checkpoints removed.
absl::Status FinalizeAndClean(const BatchJobOptions& options, const JobDirectory& dir,
                              int64_t chunks, const std::vector<store::OutputColumn>& outputs,
                              BatchJobResult& result) {
  absl::Status finalized = FinalizeJob(options, dir.root, chunks, outputs, result);
  if (!finalized.ok()) return finalized;
  if (!result.verified) return absl::OkStatus();  // the runs stay: fix and re-verify
  // The job is complete: its checkpoints have served their purpose.
  absl::Status s = store::WriteFileAtomically(dir.finalized(), std::to_string(result.version));
  if (!s.ok()) return s;
  std::error_code ec;
  fs::remove_all(dir.parts(), ec);
  return absl::OkStatus();
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

absl::StatusOr<BatchJobResult> RunBatchJob(const BatchJobOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  BatchJobResult result;
  result.job_id = options.job_id.empty() ? DeriveJobId(options) : options.job_id;
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  absl::StatusOr<std::vector<store::OutputColumn>> outputs = TableOutputs(options.model_config);
  if (!outputs.ok()) return outputs.status();
  const JobDirectory dir{options.staging_root / result.job_id};
  if (absl::Status s = dir.Create(); !s.ok()) return s;
  absl::StatusOr<FileLock> shard_lock =
      FileLock::Acquire(dir.shard_file(options.shard_index, "lock"), false);
  if (!shard_lock.ok()) return shard_lock.status();
  // A completed job does not run again: not its chunks (whose checkpoints are
  // gone), and not its merge (checked again below, for a shard that finishes
  // after another has published).
  if (dir.AlreadyFinalized(result)) return result;

  int64_t chunks = -1;
  absl::Status processed = ProcessShard(options, dir, *outputs, chunks, result);
  result.seconds = SecondsSince(start);
  if (!processed.ok()) return processed;
  absl::Status marked = store::WriteFileAtomically(dir.shard_file(options.shard_index, "done"),
                                                   std::to_string(chunks));
  if (!marked.ok()) return marked;

  absl::StatusOr<FileLock> publish_lock = FileLock::Acquire(dir.root / "publish.lock", true);
  if (!publish_lock.ok()) return publish_lock.status();
  absl::StatusOr<bool> all_done = AllShardsDone(options, dir, chunks);
  if (!all_done.ok()) return all_done.status();
  if (!*all_done || dir.AlreadyFinalized(result)) return result;
  absl::Status finalized = FinalizeAndClean(options, dir, chunks, *outputs, result);
  result.seconds = SecondsSince(start);
  if (!finalized.ok()) return finalized;
  return result;
}

}  // namespace strata::batch
