#include "store/sorted_run.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fmt/format.h"

namespace strata::store {
namespace fs = std::filesystem;
namespace {

constexpr uint32_t kFooterMark = 0xFFFFFFFFu;
// A writer's buffer, and the bounds of a merged run's share of the budget.
constexpr size_t kBufferBytes = 64 << 10;
constexpr size_t kMinRunBuffer = 4 << 10;
constexpr size_t kMaxRunBuffer = 64 << 10;

void PutU32(uint32_t v, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (8 * i));
}
uint32_t GetU32(const char* in) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(in[i]);
  return v;
}

absl::Status IoError(std::string_view what, const fs::path& path) {
  return absl::InternalError(fmt::format("{} {}: {}", what, path.string(), std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SortedRunWriter>> SortedRunWriter::Create(const fs::path& path) {
  const fs::path tmp = fs::path(path.string() + ".tmp");
  std::FILE* file = std::fopen(tmp.c_str(), "wb");
  if (file == nullptr) return IoError("cannot create", tmp);
  std::setvbuf(file, nullptr, _IOFBF, kBufferBytes);
  return std::unique_ptr<SortedRunWriter>(new SortedRunWriter(path, file));
}

SortedRunWriter::~SortedRunWriter() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::error_code ec;
    fs::remove(fs::path(path_.string() + ".tmp"), ec);
  }
}

absl::Status SortedRunWriter::Add(std::string_view key, std::string_view value) {
  char header[8];
  PutU32(static_cast<uint32_t>(key.size()), header);
  PutU32(static_cast<uint32_t>(value.size()), header + 4);
  if (std::fwrite(header, 1, 8, file_) != 8 ||
      std::fwrite(key.data(), 1, key.size(), file_) != key.size() ||
      std::fwrite(value.data(), 1, value.size(), file_) != value.size()) {
    return IoError("cannot write", path_.string() + ".tmp");
  }
  ++count_;
  return absl::OkStatus();
}

absl::Status SortedRunWriter::Finish() {
  const fs::path tmp = fs::path(path_.string() + ".tmp");
  char footer[12];
  PutU32(kFooterMark, footer);
  for (int i = 0; i < 8; ++i) {
    footer[4 + i] = static_cast<char>(static_cast<uint64_t>(count_) >> (8 * i));
  }
  const bool ok = std::fwrite(footer, 1, sizeof footer, file_) == sizeof footer &&
                  std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok || !closed) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return IoError("cannot write", tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path_, ec);
  if (ec) {
    return absl::InternalError(
        fmt::format("cannot rename {} to {}: {}", tmp.string(), path_.string(), ec.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SortedRunReader>> SortedRunReader::Open(const fs::path& path,
                                                                       size_t buffer_bytes) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return IoError("cannot open", path);
  auto reader = std::unique_ptr<SortedRunReader>(new SortedRunReader(path, file));
  reader->buffer_.resize(std::max<size_t>(buffer_bytes, 1));
  std::setvbuf(file, reader->buffer_.data(), _IOFBF, reader->buffer_.size());
  return reader;
}

SortedRunReader::~SortedRunReader() {
  if (file_ != nullptr) std::fclose(file_);
}

bool SortedRunReader::Next() {
  if (!status_.ok() || file_ == nullptr) return false;
  auto truncated = [&] {
    status_ = absl::DataLossError(
        fmt::format("sorted run {} is truncated after {} records", path_.string(), count_));
    return false;
  };
  char header[8];
  if (std::fread(header, 1, 4, file_) != 4) return truncated();
  const uint32_t key_size = GetU32(header);
  if (key_size == kFooterMark) {
    char count[8];
    if (std::fread(count, 1, 8, file_) != 8) return truncated();
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<uint8_t>(count[i]);
    if (static_cast<int64_t>(n) != count_) {
      status_ = absl::DataLossError(fmt::format(
          "sorted run {} holds {} records but its footer says {}", path_.string(), count_, n));
    }
    std::fclose(file_);
    file_ = nullptr;
    return false;
  }
  if (std::fread(header + 4, 1, 4, file_) != 4) return truncated();
  const uint32_t value_size = GetU32(header + 4);
  key_.resize(key_size);
  value_.resize(value_size);
  if (std::fread(key_.data(), 1, key_size, file_) != key_size ||
      std::fread(value_.data(), 1, value_size, file_) != value_size) {
    return truncated();
  }
  ++count_;
  return true;
}

absl::StatusOr<SortedRunMerger> SortedRunMerger::OpenRuns(const std::vector<fs::path>& paths,
                                                          MergeBudget budget) {
  const size_t share = std::clamp(budget.buffer_bytes / std::max<size_t>(paths.size(), 1),
                                  kMinRunBuffer, kMaxRunBuffer);
  SortedRunMerger merger;
  for (const fs::path& path : paths) {
    absl::StatusOr<std::unique_ptr<SortedRunReader>> run = SortedRunReader::Open(path, share);
    if (!run.ok()) return run.status();
    merger.runs_.push_back(*std::move(run));
  }
  return merger;
}

namespace {

// Merges `group` into one run at `path`.
absl::Status MergeInto(const std::vector<fs::path>& group, const fs::path& path,
                       MergeBudget budget) {
  absl::StatusOr<SortedRunMerger> merger = SortedRunMerger::Open(group, {}, budget);
  if (!merger.ok()) return merger.status();
  absl::StatusOr<std::unique_ptr<SortedRunWriter>> writer = SortedRunWriter::Create(path);
  if (!writer.ok()) return writer.status();
  while (merger->Next()) {
    if (absl::Status s = (*writer)->Add(merger->key(), merger->value()); !s.ok()) return s;
  }
  if (absl::Status s = merger->status(); !s.ok()) return s;
  return (*writer)->Finish();
}

}  // namespace

absl::StatusOr<SortedRunMerger> SortedRunMerger::Open(const std::vector<fs::path>& paths,
                                                      const fs::path& scratch, MergeBudget budget) {
  budget.max_runs = std::max<size_t>(budget.max_runs, 2);
  std::vector<fs::path> runs = paths;
  for (int level = 0; runs.size() > budget.max_runs; ++level) {
    if (scratch.empty()) {
      return absl::InvalidArgumentError(
          fmt::format("merging {} runs needs a scratch directory (more than {})", runs.size(),
                      budget.max_runs));
    }
    std::vector<fs::path> merged;
    for (size_t begin = 0; begin < runs.size(); begin += budget.max_runs) {
      const size_t end = std::min(runs.size(), begin + budget.max_runs);
      const std::vector<fs::path> group(runs.begin() + begin, runs.begin() + end);
      merged.push_back(scratch / fmt::format("merge-{}-{:06}.run", level, merged.size()));
      if (absl::Status s = MergeInto(group, merged.back(), budget); !s.ok()) return s;
      // Runs of an earlier level are ours to remove; the callers' are not.
      for (const fs::path& run : group) {
        std::error_code ec;
        if (level > 0) fs::remove(run, ec);
      }
    }
    runs = std::move(merged);
  }
  return OpenRuns(runs, budget);
}

bool SortedRunMerger::Next() {
  auto greater = [this](size_t a, size_t b) {
    const std::string_view ka = runs_[a]->key(), kb = runs_[b]->key();
    return ka != kb ? ka > kb : a > b;
  };
  if (!started_) {
    started_ = true;
    for (size_t i = 0; i < runs_.size(); ++i) {
      if (runs_[i]->Next()) heap_.push_back(i);
    }
    std::make_heap(heap_.begin(), heap_.end(), greater);
  } else if (current_ != SIZE_MAX) {
    std::pop_heap(heap_.begin(), heap_.end(), greater);
    heap_.pop_back();
    if (runs_[current_]->Next()) {
      heap_.push_back(current_);
      std::push_heap(heap_.begin(), heap_.end(), greater);
    }
  }
  if (heap_.empty() || !status().ok()) {
    current_ = SIZE_MAX;
    return false;
  }
  current_ = heap_.front();
  return true;
}

std::string_view SortedRunMerger::key() const { return runs_[current_]->key(); }
std::string_view SortedRunMerger::value() const { return runs_[current_]->value(); }

size_t SortedRunMerger::buffer_bytes() const {
  size_t bytes = 0;
  for (const auto& run : runs_) bytes += run->buffer_bytes();
  return bytes;
}

absl::Status SortedRunMerger::status() const {
  for (const auto& run : runs_) {
    if (!run->status().ok()) return run->status();
  }
  return absl::OkStatus();
}

}  // namespace strata::store
