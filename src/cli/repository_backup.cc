#include "cli/repository_backup.h"

#include <algorithm>
#include <system_error>

#include "cli/sha256.h"
#include "cli/table_stores.h"
#include "fmt/format.h"
#include "serving/model_config_parser.h"
#include "serving/model_repository.h"
#include "store/table_dump.h"
#include "store/table_verification.h"

namespace strata::cli {
namespace fs = std::filesystem;
namespace {

fs::path TablesDir(const BackupOptions& o) {
  return o.tables.empty() ? o.repository / "tables" : o.tables;
}

std::string Absolute(const fs::path& path) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  return (ec ? path : absolute).lexically_normal().string();
}

absl::Status Damaged(const std::string& table, int64_t version, const absl::Status& why) {
  return absl::DataLossError(
      fmt::format("table '{}' version {} is damaged: {}; nothing was backed "
                  "up. Check it with `strata "
                  "table verify {} --version {}`, roll back or remove it, or "
                  "pass --skip-corrupt to "
                  "leave it out of the backup",
                  table, version, std::string(why.message()), table, version));
}

// The current version when it is kept, else the newest kept one before it
// (the last known good), else the newest kept.
int64_t CurrentOf(const std::vector<int64_t>& kept, int64_t current) {
  int64_t chosen = 0;
  for (int64_t v : kept) {
    if (v <= current) chosen = std::max(chosen, v);
  }
  return chosen != 0 || kept.empty() ? chosen : kept.back();
}

}  // namespace

std::vector<BackupModel> DescribeModels(const fs::path& repository) {
  std::vector<BackupModel> models;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(repository / "models", ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.starts_with(".")) continue;
    BackupModel model{.name = name,
                      .versions = serving::ModelRepository::ListVersions(entry.path())};
    absl::StatusOr<runtime::ModelConfig> config =
        serving::LoadModelConfig(entry.path() / "config.yaml", name);
    if (config.ok()) {
      model.labels.insert(config->lifecycle.labels.begin(), config->lifecycle.labels.end());
      model.default_version = config->lifecycle.default_version;
    }
    models.push_back(std::move(model));
  }
  std::sort(models.begin(), models.end(),
            [](const BackupModel& a, const BackupModel& b) { return a.name < b.name; });
  return models;
}

RepositoryBackup::RepositoryBackup(const BackupOptions& options)
    : options_(options), partial_(options.output.string() + ".partial") {
  manifest_.created = store::UtcNow();
  manifest_.strata_version = "0.1.0";
  manifest_.repository = Absolute(options.repository);
  manifest_.tables = Absolute(TablesDir(options));
  manifest_.redis = options.redis;
}

absl::StatusOr<BackupSummary> RepositoryBackup::Write(const BackupOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(options.repository / "models", ec)) {
    return absl::NotFoundError(fmt::format(
        "{} holds no models/ directory: is it a strata repository?", options.repository.string()));
  }
  if (fs::exists(options.output, ec)) {
    return absl::AlreadyExistsError(
        fmt::format("{} already exists; back up into a new directory (a backup "
                    "is never overwritten)",
                    options.output.string()));
  }
  RepositoryBackup backup(options);
  fs::remove_all(backup.partial_, ec);  // left by a backup that was killed
  fs::create_directories(backup.partial_, ec);
  if (ec) {
    return absl::InternalError(
        fmt::format("cannot create {}: {}", backup.partial_.string(), ec.message()));
  }
  absl::Status s = backup.Run();
  if (!s.ok()) {
    fs::remove_all(backup.partial_, ec);  // a failed backup leaves nothing
    return s;
  }
  return backup.summary_;
}

absl::Status RepositoryBackup::Run() {
  std::error_code ec;
  if (absl::Status s = PlanRepository(); !s.ok()) return s;
  if (fs::is_directory(TablesDir(options_), ec)) {
    absl::StatusOr<std::unique_ptr<store::TableStore>> rocksdb =
        CreateTableStore(RocksDbFlags(TablesDir(options_).string()), options_.repository);
    if (!rocksdb.ok()) return rocksdb.status();
    if (absl::Status s = PlanTables(**rocksdb, manifest_.tables_held); !s.ok()) return s;
  }
  if (absl::Status s = CopyFiles(); !s.ok()) return s;
  if (!options_.redis.empty()) {
    absl::StatusOr<std::unique_ptr<store::TableStore>> redis =
        CreateTableStore(RedisFlags(options_.redis), options_.repository);
    if (!redis.ok()) return redis.status();
    if (absl::Status s = DumpRedisTables(**redis); !s.ok()) return s;
  }
  return Finish();
}

absl::Status RepositoryBackup::PlanRepository() {
  for (const std::string& rel :
       ListFiles(options_.repository, RelativeInside(TablesDir(options_), options_.repository))) {
    const fs::path from = options_.repository / rel;
    std::error_code ec;
    copy_bytes_ += fs::file_size(from, ec);
    copies_.emplace_back(from, "repository/" + rel);
  }
  manifest_.models = DescribeModels(options_.repository);
  for (const BackupModel& m : manifest_.models) summary_.model_versions += m.versions.size();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> RepositoryBackup::ChooseVersions(store::TableStore& store,
                                                                      const std::string& table,
                                                                      bool verify) {
  absl::StatusOr<std::vector<int64_t>> versions = store.ListVersions(table);
  if (!versions.ok()) return versions.status();
  absl::StatusOr<int64_t> current = store.CurrentVersion(table);
  if (!current.ok()) return current.status();
  if (options_.current_only) versions = std::vector<int64_t>{*current};
  std::vector<int64_t> good;
  for (int64_t v : *versions) {
    absl::Status s = verify ? store::VerifyTableVersion(store, table, v) : absl::OkStatus();
    if (s.ok()) {
      good.push_back(v);
    } else if (options_.skip_corrupt) {
      summary_.skipped.push_back(
          fmt::format("table '{}' version {}: {}", table, v, std::string(s.message())));
    } else {
      return Damaged(table, v, s);
    }
  }
  return good;
}

absl::Status RepositoryBackup::PlanTables(store::TableStore& store,
                                          std::vector<BackupTable>& tables) {
  absl::StatusOr<std::vector<std::string>> names = store.ListTables();
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    absl::StatusOr<std::vector<int64_t>> kept = ChooseVersions(store, name, true);
    if (!kept.ok()) return kept.status();
    absl::StatusOr<int64_t> current = store.CurrentVersion(name);
    if (!current.ok()) return current.status();
    BackupTable table{.name = name, .store = "rocksdb", .current = CurrentOf(*kept, *current)};
    for (int64_t v : *kept) {
      absl::StatusOr<store::TableManifest> m = store.ReadManifest(name, v);
      if (!m.ok()) return m.status();
      table.versions.push_back({.version = v, .rows = m->rows, .checksum = m->checksum});
      const fs::path dir = TablesDir(options_) / name / std::to_string(v);
      for (const std::string& rel : ListFiles(dir)) {
        std::error_code ec;
        copy_bytes_ += fs::file_size(dir / rel, ec);
        copies_.emplace_back(dir / rel, fmt::format("tables/{}/{}/{}", name, v, rel));
      }
    }
    summary_.table_versions += table.versions.size();
    tables.push_back(std::move(table));
  }
  return absl::OkStatus();
}

absl::Status RepositoryBackup::CopyFiles() {
  CopyProgress progress("backup", options_.progress, copy_bytes_);
  for (const auto& [from, rel] : copies_) {
    absl::StatusOr<CopiedFile> copied = CopyHashed(from, partial_ / rel, &progress);
    if (!copied.ok()) return copied.status();
    manifest_.files.push_back({.path = rel, .size = copied->size, .sha256 = copied->sha256});
    summary_.bytes += copied->size;
  }
  return absl::OkStatus();
}

absl::Status RepositoryBackup::DumpRedisTables(store::TableStore& redis) {
  absl::StatusOr<std::vector<std::string>> names = redis.ListTables();
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    absl::StatusOr<std::vector<int64_t>> versions = ChooseVersions(redis, name, false);
    if (!versions.ok()) return versions.status();
    absl::StatusOr<int64_t> current = redis.CurrentVersion(name);
    if (!current.ok()) return current.status();
    BackupTable table{.name = name, .store = "redis"};
    for (int64_t v : *versions) {
      absl::Status s = DumpRedisVersion(redis, name, v);
      if (!s.ok() && !options_.skip_corrupt)
        return s.code() == absl::StatusCode::kDataLoss ? Damaged(name, v, s) : s;
      if (!s.ok()) {
        summary_.skipped.push_back(
            fmt::format("table '{}' version {}: {}", name, v, std::string(s.message())));
        continue;
      }
      absl::StatusOr<store::TableManifest> m = redis.ReadManifest(name, v);
      if (!m.ok()) return m.status();
      table.versions.push_back({.version = v, .rows = m->rows, .checksum = m->checksum});
    }
    std::vector<int64_t> kept;
    for (const BackupTableVersion& v : table.versions) kept.push_back(v.version);
    table.current = CurrentOf(kept, *current);
    summary_.table_versions += table.versions.size();
    manifest_.tables_held.push_back(std::move(table));
  }
  return absl::OkStatus();
}

absl::Status RepositoryBackup::DumpRedisVersion(store::TableStore& redis, const std::string& table,
                                                int64_t version) {
  const std::string rel_dir = fmt::format("redis/{}/{}", table, version);
  std::error_code ec;
  fs::create_directories(partial_ / rel_dir, ec);
  absl::StatusOr<std::shared_ptr<store::PredictionTable>> opened = redis.Open(table, version);
  if (!opened.ok()) return opened.status();
  CopyProgress progress("backup", options_.progress, 0);
  absl::StatusOr<store::TableDump> dump =
      store::DumpTable(**opened, partial_ / rel_dir, size_t{64} << 20, [&](int64_t rows) {
        progress.Note(fmt::format("redis table '{}' version {}: {} rows", table, version, rows));
      });
  if (!dump.ok()) return dump.status();
  const store::TableManifest& m = (*opened)->manifest();
  if (dump->rows != m.rows || dump->checksum != m.checksum) {
    return absl::DataLossError(
        fmt::format("its data has checksum {}, its manifest says {}", dump->checksum, m.checksum));
  }
  const std::string manifest_rel = rel_dir + "/manifest.yaml";
  if (absl::Status s = WriteSynced(partial_ / manifest_rel, store::ManifestToYaml(m)); !s.ok()) {
    return s;
  }
  if (absl::Status s = AddWrittenFile(manifest_rel); !s.ok()) return s;
  for (const fs::path& run : dump->runs) {
    if (absl::Status s = AddWrittenFile(rel_dir + "/" + run.filename().string()); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status RepositoryBackup::AddWrittenFile(const std::string& rel) {
  absl::StatusOr<std::string> sha = Sha256::OfFile(partial_ / rel);
  if (!sha.ok()) return sha.status();
  std::error_code ec;
  const uint64_t size = fs::file_size(partial_ / rel, ec);
  manifest_.files.push_back({.path = rel, .size = size, .sha256 = *sha});
  summary_.bytes += size;
  return absl::OkStatus();
}

absl::Status RepositoryBackup::Finish() {
  std::sort(manifest_.files.begin(), manifest_.files.end(),
            [](const BackupFile& a, const BackupFile& b) { return a.path < b.path; });
  const std::string yaml = BackupManifestToYaml(manifest_);
  if (absl::Status s = WriteSynced(partial_ / "MANIFEST.yaml", yaml); !s.ok()) return s;
  const std::string sums = Sha256Sums(manifest_.files, Sha256::Of(yaml));
  if (absl::Status s = WriteSynced(partial_ / "SHA256SUMS", sums); !s.ok()) return s;
  SyncDirectory(partial_);
  std::error_code ec;
  fs::rename(partial_, options_.output, ec);
  if (ec) {
    return absl::InternalError(fmt::format("cannot rename {} to {}: {}", partial_.string(),
                                           options_.output.string(), ec.message()));
  }
  SyncDirectory(fs::absolute(options_.output).parent_path());
  summary_.files = manifest_.files.size();
  return absl::OkStatus();
}

}  // namespace strata::cli
