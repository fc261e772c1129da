#include "store/rocksdb/rocksdb_table_store.h"

#include <unistd.h>

#include <atomic>
#include <random>

#include "fmt/format.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/sst_file_writer.h"
#include "rocksdb/table.h"

namespace strata::store {
namespace fs = std::filesystem;

struct RocksDbTableStore::Shared {
  rocksdb::Options options;  // for SstFileWriter and OpenForReadOnly
  // For the database a builder opens to ingest its files: index and filter
  // blocks go through a small block cache and few files stay open, so that
  // committing a large table does not hold every file's filter on the heap.
  rocksdb::Options build_options;
};

namespace {

// When a builder starts another SST file.
struct FileLimits {
  uint64_t bytes;
  uint64_t keys;
};

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string message = fmt::format("{}: {}", what, s.ToString());
  if (s.IsCorruption() || s.IsIncomplete()) return absl::DataLossError(message);
  if (s.IsNotFound() || s.IsPathNotFound()) return absl::DataLossError(message);
  return absl::InternalError(message);
}

class RocksDbPredictionTable : public PredictionTable {
 public:
  RocksDbPredictionTable(TableManifest manifest, std::unique_ptr<rocksdb::DB> db)
      : manifest_(std::move(manifest)), db_(std::move(db)) {}

  const TableManifest& manifest() const override { return manifest_; }

  absl::StatusOr<LookupResult> MultiGet(std::span<const std::string> keys) const override {
    LookupResult result;
    result.values.resize(keys.size());
    result.found.assign(keys.size(), 0);
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    db_->MultiGet(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), keys.size(), slices.data(),
                  values.data(), statuses.data());
    for (size_t i = 0; i < keys.size(); ++i) {
      if (statuses[i].ok()) {
        result.values[i].assign(values[i].data(), values[i].size());
        result.found[i] = 1;
      } else if (!statuses[i].IsNotFound()) {
        return FromRocks(statuses[i], fmt::format("table '{}' lookup", manifest_.table));
      }
    }
    return result;
  }

  absl::Status Scan(const Visitor& visit) const override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      absl::Status s = visit(std::string_view(it->key().data(), it->key().size()),
                             std::string_view(it->value().data(), it->value().size()));
      if (!s.ok()) return s;
    }
    return FromRocks(it->status(), fmt::format("table '{}' scan", manifest_.table));
  }

 private:
  TableManifest manifest_;
  std::unique_ptr<rocksdb::DB> db_;
};

// Writes SST files into <table dir>/.build-<id>/sst, then ingests them into a
// new database in .build-<id>/db and commits that directory as a version.
class RocksDbTableBuilder : public TableBuilder {
 public:
  RocksDbTableBuilder(std::string table, const TableDirectory& directory,
                      rocksdb::Options file_options, rocksdb::Options db_options, FileLimits limits,
                      fs::path build_dir)
      : table_(std::move(table)),
        directory_(directory),
        file_options_(std::move(file_options)),
        db_options_(std::move(db_options)),
        limits_(limits),
        build_dir_(std::move(build_dir)) {}

  ~RocksDbTableBuilder() override {
    writer_.reset();
    if (!committed_) {
      std::error_code ec;
      fs::remove_all(build_dir_, ec);
    }
  }

  absl::Status Add(std::string_view key, std::string_view value) override {
    if (writer_ == nullptr || writer_->FileSize() >= limits_.bytes ||
        keys_in_file_ >= limits_.keys) {
      absl::Status s = StartFile();
      if (!s.ok()) return s;
    }
    ++keys_in_file_;
    return FromRocks(writer_->Put(rocksdb::Slice(key.data(), key.size()),
                                  rocksdb::Slice(value.data(), value.size())),
                     "SstFileWriter::Put");
  }

  absl::StatusOr<int64_t> Commit(TableManifest manifest) override {
    absl::Status s = FinishFile();
    if (!s.ok()) return s;
    const fs::path db_dir = build_dir_ / "db";
    rocksdb::Options options = db_options_;
    options.create_if_missing = true;
    options.error_if_exists = true;
    rocksdb::DB* raw = nullptr;
    s = FromRocks(rocksdb::DB::Open(options, db_dir.string(), &raw), "open new table");
    if (!s.ok()) return s;
    std::unique_ptr<rocksdb::DB> db(raw);
    if (!files_.empty()) {
      rocksdb::IngestExternalFileOptions ingest;
      ingest.move_files = true;
      s = FromRocks(db->IngestExternalFile(files_, ingest), "ingest SST files");
      if (!s.ok()) return s;
    }
    s = FromRocks(db->SyncWAL(), "sync");
    if (!s.ok()) return s;
    s = FromRocks(db->Close(), "close new table");
    if (!s.ok()) return s;
    db.reset();
    std::error_code ec;
    fs::remove_all(build_dir_ / "sst", ec);
    manifest.store = "rocksdb";
    absl::StatusOr<int64_t> version =
        directory_.CommitVersion(table_, build_dir_, std::move(manifest));
    if (version.ok()) committed_ = true;
    return version;
  }

 private:
  absl::Status StartFile() {
    absl::Status s = FinishFile();
    if (!s.ok()) return s;
    const std::string path =
        (build_dir_ / "sst" / fmt::format("{:06}.sst", files_.size())).string();
    writer_ = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), file_options_);
    keys_in_file_ = 0;
    s = FromRocks(writer_->Open(path), "SstFileWriter::Open");
    if (s.ok()) files_.push_back(path);
    return s;
  }

  absl::Status FinishFile() {
    if (writer_ == nullptr) return absl::OkStatus();
    absl::Status s = FromRocks(writer_->Finish(), "SstFileWriter::Finish");
    writer_.reset();
    return s;
  }

  std::string table_;
  const TableDirectory& directory_;
  rocksdb::Options file_options_;  // for SstFileWriter
  rocksdb::Options db_options_;    // for the database that ingests the files
  FileLimits limits_;
  fs::path build_dir_;
  std::unique_ptr<rocksdb::SstFileWriter> writer_;
  uint64_t keys_in_file_ = 0;
  std::vector<std::string> files_;
  bool committed_ = false;
};

// The builder's database: its block cache and open files (see Shared).
constexpr size_t kBuildCacheBytes = size_t{8} << 20;
constexpr int kBuildOpenFiles = 32;

std::string RandomId() {
  static std::atomic<uint64_t> counter{0};
  std::random_device device;
  return fmt::format("{}-{:08x}-{}", ::getpid(), device(), counter++);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RocksDbTableStore>> RocksDbTableStore::Create(
    RocksDbOptions options) {
  std::error_code ec;
  fs::create_directories(options.root, ec);
  if (ec) {
    return absl::InternalError(
        fmt::format("cannot create table directory {}: {}", options.root.string(), ec.message()));
  }
  auto shared = std::make_shared<Shared>();
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(options.bloom_bits_per_key));
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.block_size = 4096;
  table.whole_key_filtering = true;
  shared->options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  shared->options.compression = rocksdb::kLZ4Compression;
  shared->options.paranoid_checks = true;
  shared->options.info_log_level = rocksdb::WARN_LEVEL;
  shared->options.keep_log_file_num = 1;
  shared->options.max_open_files = -1;
  shared->build_options = shared->options;
  table.cache_index_and_filter_blocks = true;
  table.block_cache = rocksdb::NewLRUCache(kBuildCacheBytes);
  shared->build_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  shared->build_options.max_open_files = kBuildOpenFiles;
  return std::unique_ptr<RocksDbTableStore>(
      new RocksDbTableStore(std::move(options), std::move(shared)));
}

RocksDbTableStore::RocksDbTableStore(RocksDbOptions options, std::shared_ptr<Shared> shared)
    : options_(std::move(options)), directory_(options_.root), shared_(std::move(shared)) {}

RocksDbTableStore::~RocksDbTableStore() = default;

absl::StatusOr<std::vector<std::string>> RocksDbTableStore::ListTables() const {
  return directory_.ListTables();
}

absl::StatusOr<std::vector<int64_t>> RocksDbTableStore::ListVersions(std::string_view table) const {
  return directory_.ListVersions(table);
}

absl::StatusOr<TableManifest> RocksDbTableStore::ReadManifest(std::string_view table,
                                                              int64_t version) const {
  return directory_.ReadManifest(table, version);
}

absl::StatusOr<int64_t> RocksDbTableStore::CurrentVersion(std::string_view table) const {
  return directory_.CurrentVersion(table);
}

absl::Status RocksDbTableStore::SetCurrentVersion(std::string_view table, int64_t version) {
  return directory_.SetCurrentVersion(table, version);
}

absl::StatusOr<std::unique_ptr<TableBuilder>> RocksDbTableStore::NewBuilder(
    std::string_view table, const fs::path& /*scratch*/) {
  if (absl::Status s = ValidateTableName(table); !s.ok()) return s;
  // Built beside the versions, so that the commit is a rename.
  const fs::path build_dir = directory_.TableDir(table) / (".build-" + RandomId());
  std::error_code ec;
  fs::create_directories(build_dir / "sst", ec);
  if (ec) {
    return absl::InternalError(
        fmt::format("cannot create {}: {}", build_dir.string(), ec.message()));
  }
  return std::unique_ptr<TableBuilder>(new RocksDbTableBuilder(
      std::string(table), directory_, shared_->options, shared_->build_options,
      FileLimits{options_.target_file_bytes, options_.target_file_keys}, build_dir));
}

absl::StatusOr<std::shared_ptr<PredictionTable>> RocksDbTableStore::Open(std::string_view table,
                                                                         int64_t version) const {
  absl::StatusOr<TableManifest> manifest = directory_.ReadManifest(table, version);
  if (!manifest.ok()) return manifest.status();
  const fs::path db_dir = directory_.VersionDir(table, version) / "db";
  const std::string what = fmt::format("table '{}' version {}", table, version);
  const absl::Status verified = options_.artifact_verifier
                                    ? options_.artifact_verifier->Verify(db_dir.parent_path())
                                    : ArtifactVerifier().Verify(db_dir.parent_path());
  if (!verified.ok()) {
    return absl::Status(verified.code(),
                        fmt::format("{}: {}", what, std::string(verified.message())));
  }
  rocksdb::DB* raw = nullptr;
  absl::Status s =
      FromRocks(rocksdb::DB::OpenForReadOnly(shared_->options, db_dir.string(), &raw), what);
  if (!s.ok()) return s;
  std::unique_ptr<rocksdb::DB> db(raw);
  if (options_.verify_on_open) {
    s = FromRocks(db->VerifyChecksum(), what);
    if (!s.ok()) return s;
  }
  uint64_t keys = 0;
  db->GetIntProperty(rocksdb::DB::Properties::kEstimateNumKeys, &keys);
  if (static_cast<int64_t>(keys) != manifest->rows) {
    return absl::DataLossError(
        fmt::format("{} holds {} rows but its manifest says {}", what, keys, manifest->rows));
  }
  return std::shared_ptr<PredictionTable>(
      new RocksDbPredictionTable(*std::move(manifest), std::move(db)));
}

absl::StatusOr<int> RocksDbTableStore::RemoveOldVersions(std::string_view table, int keep) {
  return directory_.RemoveOldVersions(table, keep);
}

}  // namespace strata::store
