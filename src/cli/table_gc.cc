#include "cli/table_gc.h"

#include <chrono>
#include <filesystem>
#include <memory>
#include <system_error>

#include "fmt/format.h"
#include "store/redis/redis_table_maintenance.h"

namespace strata::cli {
namespace fs = std::filesystem;
namespace {

// Seconds since anything inside `dir` (or `dir` itself) was last written.
int64_t IdleSeconds(const fs::path& dir) {
  std::error_code ec;
  fs::file_time_type newest = fs::last_write_time(dir, ec);
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    newest = std::max(newest, fs::last_write_time(it->path(), ec));
  }
  return std::chrono::duration_cast<std::chrono::seconds>(fs::file_time_type::clock::now() - newest)
      .count();
}

absl::Status CollectRocksDb(const TableGcOptions& o, const fs::path& root, const std::string& table,
                            TableGcResult& result) {
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(root / table, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || !name.starts_with(".build-")) continue;
    const int64_t idle = IdleSeconds(entry.path());
    const std::string what = fmt::format("table '{}': build directory {} (idle {} s)", table,
                                         entry.path().string(), idle);
    if (idle < o.grace_seconds) {
      result.kept.push_back(what);
      continue;
    }
    if (!o.dry_run) fs::remove_all(entry.path(), ec);
    result.removed.push_back(what);
  }
  return absl::OkStatus();
}

absl::Status CollectRedis(const TableGcOptions& o, const std::string& table,
                          TableGcResult& result) {
  absl::StatusOr<std::unique_ptr<store::RedisTableMaintenance>> redis =
      store::RedisTableMaintenance::Connect(o.store.redis);
  if (!redis.ok()) return redis.status();
  absl::StatusOr<std::vector<store::AbandonedVersion>> abandoned =
      (*redis)->FindAbandoned(table, o.grace_seconds);
  if (!abandoned.ok()) return abandoned.status();
  for (const store::AbandonedVersion& a : *abandoned) {
    const std::string what =
        o.grace_seconds > 0
            ? fmt::format("table '{}': uncommitted version {} ({} keys, idle {} s)", table,
                          a.version, a.keys, a.idle_seconds)
            : fmt::format("table '{}': uncommitted version {} ({} keys)", table, a.version, a.keys);
    if (!a.removable) {
      result.kept.push_back(what);
      continue;
    }
    if (!o.dry_run) {
      absl::StatusOr<int64_t> removed = (*redis)->RemoveVersion(table, a.version);
      if (!removed.ok()) return removed.status();
    }
    result.removed.push_back(what);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TableGcResult> CollectTableGarbage(const TableGcOptions& options) {
  absl::StatusOr<std::unique_ptr<store::TableStore>> store =
      CreateTableStore(options.store, options.repository);
  if (!store.ok()) return store.status();
  std::vector<std::string> tables = options.tables;
  if (tables.empty()) {
    absl::StatusOr<std::vector<std::string>> all = (*store)->ListTables();
    if (!all.ok()) return all.status();
    tables = *all;
  }
  TableGcResult result;
  for (const std::string& table : tables) {
    if (absl::Status s = store::ValidateTableName(table); !s.ok()) return s;
    absl::Status s = options.store.store == "redis"
                         ? CollectRedis(options, table, result)
                         : CollectRocksDb(options, fs::path((*store)->location()), table, result);
    if (!s.ok()) return s;
  }
  return result;
}

}  // namespace strata::cli
