#include "store/table_dump.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "fmt/format.h"
#include "store/sorted_run.h"
#include "store/table_checksum.h"

namespace strata::store {
namespace fs = std::filesystem;
namespace {

// Records held until a chunk is full, then sorted and written as one run.
class ChunkedRunWriter {
 public:
  ChunkedRunWriter(fs::path dir, size_t chunk_bytes)
      : dir_(std::move(dir)), chunk_bytes_(chunk_bytes) {}

  absl::Status Add(std::string_view key, std::string_view value) {
    records_.emplace_back(std::string(key), std::string(value));
    bytes_ += key.size() + value.size() + 64;
    return bytes_ >= chunk_bytes_ ? Flush() : absl::OkStatus();
  }

  absl::Status Flush() {
    if (records_.empty()) return absl::OkStatus();
    std::sort(records_.begin(), records_.end());
    const fs::path path = dir_ / fmt::format("run-{:05}", runs_.size());
    absl::StatusOr<std::unique_ptr<SortedRunWriter>> writer = SortedRunWriter::Create(path);
    if (!writer.ok()) return writer.status();
    for (const auto& [key, value] : records_) {
      if (absl::Status s = (*writer)->Add(key, value); !s.ok()) return s;
    }
    if (absl::Status s = (*writer)->Finish(); !s.ok()) return s;
    runs_.push_back(path);
    records_.clear();
    bytes_ = 0;
    return absl::OkStatus();
  }

  std::vector<fs::path> runs() const { return runs_; }

 private:
  fs::path dir_;
  size_t chunk_bytes_;
  std::vector<std::pair<std::string, std::string>> records_;
  size_t bytes_ = 0;
  std::vector<fs::path> runs_;
};

}  // namespace

absl::StatusOr<TableDump> DumpTable(const PredictionTable& table, const fs::path& dir,
                                    size_t chunk_bytes, const DumpProgress& progress) {
  ChunkedRunWriter writer(dir, chunk_bytes);
  TableChecksum checksum;
  absl::Status scanned = table.Scan([&](std::string_view key, std::string_view value) {
    checksum.Add(key, value);
    if (progress && checksum.count() % 100000 == 0) progress(checksum.count());
    return writer.Add(key, value);
  });
  if (!scanned.ok()) return scanned;
  if (absl::Status s = writer.Flush(); !s.ok()) return s;
  if (progress) progress(checksum.count());
  return TableDump{
      .runs = writer.runs(), .rows = checksum.count(), .checksum = checksum.ToString()};
}

absl::Status VerifyDump(const std::vector<fs::path>& runs, const TableManifest& manifest) {
  // Beyond the merge's fan-in, groups of runs are merged beside them.
  const fs::path scratch = runs.empty() ? fs::path() : runs.front().parent_path();
  absl::StatusOr<SortedRunMerger> merger = SortedRunMerger::Open(runs, scratch);
  if (!merger.ok()) return merger.status();
  TableChecksum checksum;
  while (merger->Next()) checksum.Add(merger->key(), merger->value());
  if (absl::Status s = merger->status(); !s.ok()) return s;
  if (checksum.count() != manifest.rows || checksum.ToString() != manifest.checksum) {
    return absl::DataLossError(
        fmt::format("the dump of table '{}' version {} has checksum {}, not "
                    "the manifest's {}",
                    manifest.table, manifest.version, checksum.ToString(), manifest.checksum));
  }
  return absl::OkStatus();
}

}  // namespace strata::store
