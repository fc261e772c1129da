// RocksDbTableStore keeps prediction tables as read-only RocksDB databases in
// a local directory (see store/table_directory.h for the layout; the data of
// a version is in <version>/db/). Versions are bulk-loaded: the builder
// writes SST files with SstFileWriter from sorted records and ingests them in
// one step, so a new version lands in the bottom level with no compaction.
// Tables open read-only with bloom filters and a shared block cache, tuned
// for point lookups. Thread-safe.
#ifndef STRATA_STORE_ROCKSDB_ROCKSDB_TABLE_STORE_H_
#define STRATA_STORE_ROCKSDB_ROCKSDB_TABLE_STORE_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "store/artifact_verifier.h"
#include "store/table_directory.h"
#include "store/table_store.h"

namespace strata::store {

struct RocksDbOptions {
  std::filesystem::path root;  // holds <table>/<version>/
  size_t block_cache_bytes = size_t{256} << 20;
  int bloom_bits_per_key = 10;
  // Largest SST file the builder writes before starting another.
  uint64_t target_file_bytes = uint64_t{256} << 20;
  // Most keys in one SST file the builder writes. A file's bloom filter is
  // built from 8 bytes per key held until the file is finished, so this
  // bounds a build's memory whatever the table's size (1M keys: 8 MiB).
  uint64_t target_file_keys = uint64_t{1} << 20;
  // Checks every block's checksum when a version is opened, so that a
  // corrupt version is refused up front, not on some later lookup.
  bool verify_on_open = true;
  // Checks a version directory's files against its SHA256SUMS (and the
  // signature, with a trusted key) before it is opened; null: SHA256SUMS
  // checked when present.
  std::shared_ptr<const ArtifactVerifier> artifact_verifier = nullptr;
};

class RocksDbTableStore : public TableStore {
 public:
  static absl::StatusOr<std::unique_ptr<RocksDbTableStore>> Create(RocksDbOptions options);
  ~RocksDbTableStore() override;

  std::string_view kind() const override { return "rocksdb"; }
  std::string location() const override { return options_.root.string(); }
  absl::StatusOr<std::vector<std::string>> ListTables() const override;
  absl::StatusOr<std::vector<int64_t>> ListVersions(std::string_view table) const override;
  absl::StatusOr<TableManifest> ReadManifest(std::string_view table,
                                             int64_t version) const override;
  absl::StatusOr<int64_t> CurrentVersion(std::string_view table) const override;
  absl::Status SetCurrentVersion(std::string_view table, int64_t version) override;
  absl::StatusOr<std::unique_ptr<TableBuilder>> NewBuilder(
      std::string_view table, const std::filesystem::path& scratch) override;
  absl::StatusOr<std::shared_ptr<PredictionTable>> Open(std::string_view table,
                                                        int64_t version) const override;
  absl::StatusOr<int> RemoveOldVersions(std::string_view table, int keep) override;

 private:
  struct Shared;
  RocksDbTableStore(RocksDbOptions options, std::shared_ptr<Shared> shared);

  RocksDbOptions options_;
  TableDirectory directory_;
  std::shared_ptr<Shared> shared_;  // rocksdb options and block cache
};

}  // namespace strata::store

#endif  // STRATA_STORE_ROCKSDB_ROCKSDB_TABLE_STORE_H_
