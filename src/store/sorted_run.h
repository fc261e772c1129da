// A sorted run is a file of (key, value) records in ascending key order: the
// unit a batch job writes per chunk of input (its checkpoint), and the input
// that table builders merge. SortedRunWriter writes `<path>.tmp` and renames
// it to `<path>` only after it is complete and synced, so a run file that
// exists is whole. Each class is single-threaded; different runs may be
// written and read on different threads.
//
// Layout: records of (u32 key length, u32 value length, key, value), then a
// footer (u32 0xFFFFFFFF, u64 record count), all little-endian.
#ifndef STRATA_STORE_SORTED_RUN_H_
#define STRATA_STORE_SORTED_RUN_H_

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace strata::store {

class SortedRunWriter {
 public:
  static absl::StatusOr<std::unique_ptr<SortedRunWriter>> Create(const std::filesystem::path& path);
  ~SortedRunWriter();  // an unfinished run is removed

  // REQUIRES: keys ascend (the writer does not check).
  absl::Status Add(std::string_view key, std::string_view value);
  // Writes the footer, syncs, and renames the file into place.
  absl::Status Finish();

 private:
  SortedRunWriter(std::filesystem::path path, std::FILE* file)
      : path_(std::move(path)), file_(file) {}
  std::filesystem::path path_;
  std::FILE* file_;
  int64_t count_ = 0;
};

class SortedRunReader {
 public:
  // Reads through a buffer of `buffer_bytes`.
  static absl::StatusOr<std::unique_ptr<SortedRunReader>> Open(const std::filesystem::path& path,
                                                               size_t buffer_bytes = 64 << 10);
  ~SortedRunReader();

  // Advances to the next record; false at the end or on error (see status()).
  bool Next();
  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }
  size_t buffer_bytes() const { return buffer_.size(); }
  // DATA_LOSS when the file is truncated or its footer disagrees.
  const absl::Status& status() const { return status_; }

 private:
  SortedRunReader(std::filesystem::path path, std::FILE* file)
      : path_(std::move(path)), file_(file) {}
  std::filesystem::path path_;
  std::FILE* file_;
  std::string key_;
  std::string value_;
  int64_t count_ = 0;
  absl::Status status_;
  std::vector<char> buffer_;
};

// How much a merge may hold, whatever the number of runs: the runs' read
// buffers share `buffer_bytes`, and at most `max_runs` are open at once.
struct MergeBudget {
  size_t buffer_bytes = size_t{8} << 20;
  size_t max_runs = 128;
};

// Merges sorted runs into one ascending stream. Equal keys from different
// runs come out one after the other, in the order of `paths` (callers treat
// them as duplicates). Memory is bounded by the budget, not the run count:
// with more than budget.max_runs runs, consecutive groups of them are first
// merged into runs in `scratch` (one more pass over the data per level).
class SortedRunMerger {
 public:
  static absl::StatusOr<SortedRunMerger> Open(const std::vector<std::filesystem::path>& paths,
                                              const std::filesystem::path& scratch = {},
                                              MergeBudget budget = {});

  bool Next();
  std::string_view key() const;
  std::string_view value() const;
  // The first error of any run.
  absl::Status status() const;
  // The read buffers held by the final merge.
  size_t buffer_bytes() const;

 private:
  // Opens `paths` (at most budget.max_runs) sharing the buffer budget.
  static absl::StatusOr<SortedRunMerger> OpenRuns(const std::vector<std::filesystem::path>& paths,
                                                  MergeBudget budget);

  std::vector<std::unique_ptr<SortedRunReader>> runs_;
  std::vector<size_t> heap_;  // indices of runs_ with a current record
  size_t current_ = SIZE_MAX;
  bool started_ = false;
};

}  // namespace strata::store

#endif  // STRATA_STORE_SORTED_RUN_H_
