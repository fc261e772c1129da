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
  static absl::StatusOr<std::unique_ptr<SortedRunReader>> Open(const std::filesystem::path& path);
  ~SortedRunReader();

  // Advances to the next record; false at the end or on error (see status()).
  bool Next();
  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }
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

// Merges sorted runs into one ascending stream. Equal keys from different
// runs come out one after the other (callers treat them as duplicates).
class SortedRunMerger {
 public:
  static absl::StatusOr<SortedRunMerger> Open(const std::vector<std::filesystem::path>& paths);

  bool Next();
  std::string_view key() const;
  std::string_view value() const;
  // The first error of any run.
  absl::Status status() const;

 private:
  std::vector<std::unique_ptr<SortedRunReader>> runs_;
  std::vector<size_t> heap_;  // indices of runs_ with a current record
  size_t current_ = SIZE_MAX;
  bool started_ = false;
};

}  // namespace strata::store

#endif  // STRATA_STORE_SORTED_RUN_H_
