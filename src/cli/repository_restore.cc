#include "cli/repository_restore.h"

#include <unistd.h>

#include <algorithm>
#include <optional>
#include <set>
#include <system_error>

#include "cli/sha256.h"
#include "cli/table_stores.h"
#include "fmt/format.h"
#include "store/redis/redis_table_maintenance.h"
#include "store/sorted_run.h"
#include "store/table_directory.h"
#include "store/table_dump.h"
#include "store/table_verification.h"

namespace strata::cli {
namespace fs = std::filesystem;
namespace {

absl::Status Refused(std::string_view why) {
  return absl::DataLossError(fmt::format("the backup is damaged: {}", why));
}

bool IsVersion(std::string_view name) {
  return !name.empty() &&
         std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t slash; (slash = path.find('/', start)) != std::string_view::npos; start = slash + 1) {
    parts.emplace_back(path.substr(start, slash - start));
  }
  parts.emplace_back(path.substr(start));
  return parts;
}

absl::Status CheckFile(const fs::path& backup, const BackupFile& f,
                       const std::map<std::string, std::string>& sums) {
  auto listed = sums.find(f.path);
  if (listed == sums.end() || listed->second != f.sha256) {
    return Refused(fmt::format("SHA256SUMS and MANIFEST.yaml disagree on {}", f.path));
  }
  std::error_code ec;
  const uint64_t size = fs::file_size(backup / f.path, ec);
  if (ec) return Refused(fmt::format("{} is missing", f.path));
  if (size != f.size) {
    return Refused(fmt::format("{} has {} bytes, the backup recorded {}", f.path, size, f.size));
  }
  absl::StatusOr<std::string> sha = Sha256::OfFile(backup / f.path);
  if (!sha.ok()) return Refused(std::string(sha.status().message()));
  if (*sha != f.sha256) {
    return Refused(
        fmt::format("{} has SHA-256 {}, the backup recorded {}", f.path, *sha, f.sha256));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BackupManifest> RepositoryRestore::VerifyBackup(const fs::path& backup,
                                                               ProgressMode mode) {
  absl::StatusOr<std::string> text = store::ReadFile(backup / "MANIFEST.yaml");
  if (!text.ok()) {
    return Refused(
        fmt::format("{} has no readable MANIFEST.yaml (a backup still being "
                    "written is named *.partial)",
                    backup.string()));
  }
  absl::StatusOr<std::string> sums_text = store::ReadFile(backup / "SHA256SUMS");
  if (!sums_text.ok()) return Refused("SHA256SUMS is missing");
  absl::StatusOr<std::map<std::string, std::string>> sums = ParseSha256Sums(*sums_text);
  if (!sums.ok()) return Refused(std::string(sums.status().message()));
  if ((*sums)["MANIFEST.yaml"] != Sha256::Of(*text)) {
    return Refused("MANIFEST.yaml does not match its SHA-256 in SHA256SUMS");
  }
  absl::StatusOr<BackupManifest> manifest = ParseBackupManifest(*text);
  if (!manifest.ok()) return manifest.status();
  uint64_t total = 0;
  for (const BackupFile& f : manifest->files) total += f.size;
  CopyProgress progress("verify", mode, total);
  for (const BackupFile& f : manifest->files) {
    if (absl::Status s = CheckFile(backup, f, *sums); !s.ok()) return s;
    progress.Add(f.size, f.path);
  }
  if (sums->size() != manifest->files.size() + 1) {
    return Refused("SHA256SUMS lists files that MANIFEST.yaml does not");
  }
  return manifest;
}

RepositoryRestore::RepositoryRestore(const RestoreOptions& options, BackupManifest manifest)
    : options_(options),
      manifest_(std::move(manifest)),
      tables_(options.tables.empty() ? options.repository / "tables" : options.tables) {}

std::map<std::string, RepositoryRestore::Unit> RepositoryRestore::BackupUnits() const {
  std::map<std::string, Unit> units;
  for (const BackupFile& f : manifest_.files) {
    const std::vector<std::string> p = Split(f.path);
    Unit unit;
    if (p[0] == "repository" && p.size() >= 5 && p[1] == "models" && IsVersion(p[3])) {
      unit = {.name = fmt::format("models/{}/{}", p[2], p[3]),
              .target = options_.repository / "models" / p[2] / p[3],
              .directory = true,
              .prefix = fmt::format("repository/models/{}/{}/", p[2], p[3])};
    } else if (p[0] == "repository") {
      unit = {.name = f.path.substr(11),
              .target = options_.repository / f.path.substr(11),
              .prefix = f.path};
    } else if (p[0] == "tables" && p.size() >= 4) {
      unit = {.name = fmt::format("tables/{}/{}", p[1], p[2]),
              .target = tables_ / p[1] / p[2],
              .directory = true,
              .prefix = fmt::format("tables/{}/{}/", p[1], p[2])};
    } else {
      continue;  // redis/: rebuilt through the store
    }
    auto [it, added] = units.try_emplace(unit.name, std::move(unit));
    it->second.files.push_back(&f);
  }
  return units;
}

bool RepositoryRestore::Matches(const Unit& unit) const {
  std::error_code ec;
  if (!unit.directory) {
    const BackupFile& f = *unit.files.front();
    if (fs::file_size(unit.target, ec) != f.size || ec) return false;
    absl::StatusOr<std::string> sha = Sha256::OfFile(unit.target);
    return sha.ok() && *sha == f.sha256;
  }
  std::vector<std::string> expected;
  for (const BackupFile* f : unit.files) expected.push_back(f->path.substr(unit.prefix.size()));
  std::sort(expected.begin(), expected.end());
  if (ListFiles(unit.target) != expected) return false;
  for (const BackupFile* f : unit.files) {
    absl::StatusOr<std::string> sha =
        Sha256::OfFile(unit.target / f->path.substr(unit.prefix.size()));
    if (!sha.ok() || *sha != f->sha256) return false;
  }
  return true;
}

absl::Status RepositoryRestore::RestoreUnit(const Unit& unit) {
  const fs::path parent = unit.target.parent_path();
  const std::string name = unit.target.filename().string();
  const fs::path staging = parent / fmt::format(".{}.restore-{}", name, ::getpid());
  const fs::path replaced = parent / fmt::format(".{}.replaced-{}", name, ::getpid());
  std::error_code ec;
  fs::create_directories(parent, ec);
  fs::remove_all(staging, ec);
  CopyProgress progress("restore", options_.progress, 0);
  for (const BackupFile* f : unit.files) {
    const fs::path to = unit.directory ? staging / f->path.substr(unit.prefix.size()) : staging;
    absl::StatusOr<CopiedFile> copied = CopyHashed(options_.backup / f->path, to, &progress);
    if (!copied.ok()) return copied.status();
    if (copied->sha256 != f->sha256) {
      return absl::DataLossError(
          fmt::format("the copy of {} does not match the backup (a disk "
                      "error?); {} was left as it was",
                      f->path, unit.name));
    }
  }
  if (unit.directory && fs::exists(unit.target, ec)) fs::rename(unit.target, replaced, ec);
  fs::rename(staging, unit.target, ec);
  if (ec) {
    return absl::InternalError(
        fmt::format("cannot move {} into place: {}", unit.target.string(), ec.message()));
  }
  fs::remove_all(replaced, ec);
  SyncDirectory(parent);
  return absl::OkStatus();
}

std::vector<std::pair<std::string, fs::path>> RepositoryRestore::Extras(
    const std::map<std::string, Unit>& units) const {
  std::set<std::string> seen;
  std::vector<std::pair<std::string, fs::path>> extras;
  auto add = [&](const std::string& name, const fs::path& path) {
    if (!units.contains(name) && seen.insert(name).second) extras.emplace_back(name, path);
  };
  const std::string tables_rel = RelativeInside(tables_, options_.repository);
  for (const std::string& rel : ListFiles(options_.repository, tables_rel)) {
    const std::vector<std::string> p = Split(rel);
    if (p.size() >= 4 && p[0] == "models" && IsVersion(p[2])) {
      add(fmt::format("models/{}/{}", p[1], p[2]), options_.repository / "models" / p[1] / p[2]);
    } else {
      add(rel, options_.repository / rel);
    }
  }
  for (const std::string& rel : ListFiles(tables_)) {
    const std::vector<std::string> p = Split(rel);
    if (p.size() >= 3 && IsVersion(p[1])) {
      add(fmt::format("tables/{}/{}", p[0], p[1]), tables_ / p[0] / p[1]);
    }
  }
  return extras;
}

absl::Status RepositoryRestore::RestoreRocksDbTables() {
  std::vector<const BackupTable*> tables;
  for (const BackupTable& t : manifest_.tables_held) {
    if (t.store == "rocksdb") tables.push_back(&t);
  }
  if (tables.empty()) return absl::OkStatus();
  std::error_code ec;
  fs::create_directories(tables_, ec);
  absl::StatusOr<std::unique_ptr<store::TableStore>> store =
      CreateTableStore(RocksDbFlags(tables_.string()), options_.repository.string());
  if (!store.ok()) return store.status();
  for (const BackupTable* t : tables) {
    absl::StatusOr<int64_t> current = (*store)->CurrentVersion(t->name);
    if (!current.ok()) return current.status();
    // Set even when it reads the same: a missing pointer reads as the newest.
    if (t->current != 0) {
      if (absl::Status s = (*store)->SetCurrentVersion(t->name, t->current); !s.ok()) return s;
    }
    if (t->current != 0 && *current != t->current) {
      summary_.restored.push_back(fmt::format("tables/{}/CURRENT -> {}", t->name, t->current));
    }
    for (const BackupTableVersion& v : t->versions) {
      if (absl::Status s = store::VerifyTableVersion(**store, t->name, v.version); !s.ok()) {
        return absl::DataLossError(
            fmt::format("table '{}' version {} does not verify after the restore: {}", t->name,
                        v.version, std::string(s.message())));
      }
      summary_.verified.push_back(fmt::format("table '{}' version {}: ok ({} rows, checksum {})",
                                              t->name, v.version, v.rows, v.checksum));
    }
  }
  return absl::OkStatus();
}

absl::Status RepositoryRestore::RestoreRedisTables() {
  std::vector<const BackupTable*> tables;
  std::string names;
  for (const BackupTable& t : manifest_.tables_held) {
    if (t.store != "redis") continue;
    tables.push_back(&t);
    names += (names.empty() ? "" : ", ") + t.name;
  }
  if (tables.empty()) return absl::OkStatus();
  if (options_.redis.empty() || options_.dry_run) {
    summary_.notes.push_back(
        fmt::format("the backup holds Redis tables ({}){}", names,
                    options_.dry_run ? "" : "; pass --redis URL to rebuild them"));
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<store::TableStore>> redis =
      CreateTableStore(RedisFlags(options_.redis), options_.repository.string());
  if (!redis.ok()) return redis.status();
  for (const BackupTable* t : tables) {
    for (const BackupTableVersion& v : t->versions) {
      if (absl::Status s = RestoreRedisVersion(**redis, *t, v); !s.ok()) return s;
    }
    absl::StatusOr<int64_t> current = (*redis)->CurrentVersion(t->name);
    if (!current.ok()) return current.status();
    if (t->current != 0) {
      if (absl::Status s = (*redis)->SetCurrentVersion(t->name, t->current); !s.ok()) return s;
    }
    if (t->current != 0 && *current != t->current) {
      summary_.restored.push_back(fmt::format("redis:{} current -> {}", t->name, t->current));
    }
  }
  return absl::OkStatus();
}

absl::Status RepositoryRestore::RestoreRedisVersion(store::TableStore& redis,
                                                    const BackupTable& table,
                                                    const BackupTableVersion& v) {
  const std::string name = fmt::format("redis:{}/{}", table.name, v.version);
  const std::string verified =
      fmt::format("table '{}' version {} (redis): ok ({} rows, checksum {})", table.name, v.version,
                  v.rows, v.checksum);
  absl::StatusOr<store::TableManifest> held = redis.ReadManifest(table.name, v.version);
  if (held.ok() && held->checksum == v.checksum &&
      store::VerifyTableVersion(redis, table.name, v.version).ok()) {
    ++summary_.intact;
    summary_.verified.push_back(verified);
    return absl::OkStatus();
  }
  const std::string dir = fmt::format("redis/{}/{}/", table.name, v.version);
  absl::StatusOr<std::string> text = store::ReadFile(options_.backup / (dir + "manifest.yaml"));
  if (!text.ok()) return text.status();
  absl::StatusOr<store::TableManifest> manifest = store::ParseManifest(*text);
  if (!manifest.ok()) return manifest.status();
  std::vector<fs::path> runs;
  for (const BackupFile& f : manifest_.files) {
    if (f.path.starts_with(dir + "run-")) runs.push_back(options_.backup / f.path);
  }
  if (absl::Status s = store::VerifyDump(runs, *manifest); !s.ok()) return s;
  absl::StatusOr<store::SortedRunMerger> records = store::SortedRunMerger::Open(runs);
  if (!records.ok()) return records.status();
  absl::StatusOr<std::unique_ptr<store::RedisTableMaintenance>> maintenance =
      store::RedisTableMaintenance::Connect(options_.redis);
  if (!maintenance.ok()) return maintenance.status();
  CopyProgress progress("restore", options_.progress, 0);
  absl::StatusOr<int64_t> rows =
      (*maintenance)->RestoreVersion(*manifest, *records, [&](int64_t n) {
        progress.Note(fmt::format("{}: {} rows", name, n));
      });
  if (!rows.ok()) return rows.status();
  if (absl::Status s = store::VerifyTableVersion(redis, table.name, v.version); !s.ok()) {
    return absl::DataLossError(
        fmt::format("{} does not verify after the rebuild: {}", name, std::string(s.message())));
  }
  summary_.restored.push_back(name);
  summary_.verified.push_back(verified);
  return absl::OkStatus();
}

absl::StatusOr<RestoreSummary> RepositoryRestore::Run(const RestoreOptions& options) {
  absl::StatusOr<BackupManifest> manifest = VerifyBackup(options.backup, options.progress);
  if (!manifest.ok()) return manifest.status();
  RepositoryRestore restore(options, *std::move(manifest));
  RestoreSummary& summary = restore.summary_;
  const std::map<std::string, Unit> units = restore.BackupUnits();
  std::error_code ec;
  if (!options.dry_run) fs::create_directories(options.repository / "models", ec);
  for (const auto& [name, unit] : units) {
    if (restore.Matches(unit)) {
      ++summary.intact;
      continue;
    }
    if (!options.dry_run) {
      if (absl::Status s = restore.RestoreUnit(unit); !s.ok()) return s;
    }
    summary.restored.push_back(name);
  }
  if (!options.dry_run) {
    if (absl::Status s = restore.RestoreRocksDbTables(); !s.ok()) return s;
  }
  if (absl::Status s = restore.RestoreRedisTables(); !s.ok()) return s;
  for (const auto& [name, path] : restore.Extras(units)) {
    summary.extras.push_back(name);
    if (options.prune && !options.dry_run) fs::remove_all(path, ec);
  }
  return summary;
}

}  // namespace strata::cli
