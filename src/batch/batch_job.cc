#include "batch/batch_job.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <mutex>
#include <thread>

#include "batch/chunk_processor.h"
#include "batch/chunk_reader.h"
#include "batch/job_finalizer.h"
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

absl::StatusOr<BatchJobResult> RunBatchJob(const BatchJobOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  BatchJobResult result;
  result.job_id = options.job_id.empty() ? DeriveJobId(options) : options.job_id;
  if (options.shard_count < 1 || options.shard_index < 0 ||
      options.shard_index >= options.shard_count) {
    return absl::InvalidArgumentError(
        fmt::format("shard {}/{} is not valid: use i/N with 0 <= i < N", options.shard_index,
                    options.shard_count));
  }
  if (options.chunk_rows < 1 || options.batch_size < 1) {
    return absl::InvalidArgumentError("chunk rows and batch size must be positive");
  }
  absl::StatusOr<std::vector<store::OutputColumn>> outputs = TableOutputs(options.model_config);
  if (!outputs.ok()) return outputs.status();

  const fs::path job_dir = options.staging_root / result.job_id;
  const fs::path parts = job_dir / "parts";
  std::error_code ec;
  fs::create_directories(parts, ec);
  fs::create_directories(job_dir / "shards", ec);
  if (ec) {
    return absl::InternalError(
        fmt::format("cannot create job directory {}: {}", job_dir.string(), ec.message()));
  }
  absl::StatusOr<FileLock> shard_lock =
      FileLock::Acquire(job_dir / "shards" / fmt::format("{}.lock", options.shard_index), false);
  if (!shard_lock.ok()) return shard_lock.status();
  // A completed job does not run again: not its chunks (whose checkpoints are
  // gone), and not its merge (checked again below, for a shard that finishes
  // after another has published).
  if (const std::optional<int64_t> done = ReadNumber(job_dir / "finalized")) {
    spdlog::info(
        "job {} is already complete (table version {}); pass another "
        "--job-id to run it again",
        result.job_id, *done);
    result.version = *done;
    return result;
  }

  const bool csv = options.input_format == InputFormat::kCsv;
  absl::StatusOr<std::unique_ptr<ChunkReader>> reader =
      ChunkReader::Open(options.input, csv, options.chunk_rows);
  if (!reader.ok()) return reader.status();
  absl::StatusOr<std::unique_ptr<RowDecoder>> decoder =
      RowDecoder::Create(options.input_format, (*reader)->header(), options.key,
                         options.model_config, options.mapping);
  if (!decoder.ok()) return decoder.status();
  const ChunkProcessor processor({.model_config = &options.model_config,
                                  .model = options.model.get(),
                                  .decoder = decoder->get(),
                                  .outputs = *outputs,
                                  .parts_dir = parts,
                                  .batch_size = options.batch_size,
                                  .file_output = options.store == nullptr,
                                  .reject = !options.reject_path.empty()});

  std::mutex reader_mutex;
  int64_t chunks = -1;  // known at the end of the input
  absl::Status failure;
  std::atomic<int64_t> rows_done{0}, rows_resumed{0};
  auto worker = [&] {
    while (true) {
      Chunk chunk;
      {
        std::lock_guard lock(reader_mutex);
        while (true) {
          if (!failure.ok() || chunks >= 0) return;
          const int64_t index = (*reader)->next_index();
          const bool mine = index % options.shard_count == options.shard_index;
          const bool done = mine && fs::exists(ChunkProcessor::RunPath(parts, index));
          absl::StatusOr<std::optional<Chunk>> next = (*reader)->Next(!mine || done);
          if (!next.ok()) {
            failure = next.status();
            return;
          }
          if (!next->has_value()) {
            chunks = index;
            return;
          }
          if (done) rows_resumed += (*next)->rows;
          if (mine && !done) {
            chunk = **std::move(next);
            break;
          }
        }
      }
      absl::StatusOr<int64_t> processed = processor.Process(chunk);
      if (!processed.ok()) {
        std::lock_guard lock(reader_mutex);
        if (failure.ok()) failure = processed.status();
        return;
      }
      rows_done += chunk.rows;
    }
  };

  ProgressReporter progress(options.progress, options.progress_interval_s);
  progress.Start([&] {
    return ProgressSnapshot{rows_done.load() + rows_resumed.load(), (*reader)->bytes_read(),
                            (*reader)->total_bytes()};
  });
  const int threads =
      options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  progress.Stop();
  result.rows_processed = rows_done;
  result.rows_resumed = rows_resumed;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!failure.ok()) return failure;

  absl::Status marked = store::WriteFileAtomically(
      job_dir / "shards" / fmt::format("{}.done", options.shard_index), std::to_string(chunks));
  if (!marked.ok()) return marked;

  absl::StatusOr<FileLock> publish_lock = FileLock::Acquire(job_dir / "publish.lock", true);
  if (!publish_lock.ok()) return publish_lock.status();
  for (int i = 0; i < options.shard_count; ++i) {
    const std::optional<int64_t> seen = ReadNumber(job_dir / "shards" / fmt::format("{}.done", i));
    if (!seen) {
      spdlog::info(
          "shard {}/{} done; shard {} has not finished, the last shard "
          "to finish publishes",
          options.shard_index, options.shard_count, i);
      return result;
    }
    if (*seen != chunks) {
      return absl::FailedPreconditionError(fmt::format(
          "shard {} saw {} chunks but this shard saw {}: the shards read different inputs", i,
          *seen, chunks));
    }
  }
  if (const std::optional<int64_t> done = ReadNumber(job_dir / "finalized")) {
    spdlog::info(
        "job {} is already complete (table version {}); pass another "
        "--job-id to run it again",
        result.job_id, *done);
    result.version = *done;
    return result;
  }
  absl::Status finalized = FinalizeJob(options, job_dir, chunks, *outputs, result);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!finalized.ok()) return finalized;
  if (!result.verified) return result;  // the runs stay: fix and re-verify
  // The job is complete: its checkpoints have served their purpose.
  absl::Status s =
      store::WriteFileAtomically(job_dir / "finalized", std::to_string(result.version));
  if (!s.ok()) return s;
  fs::remove_all(parts, ec);
  return result;
}

}  // namespace strata::batch
