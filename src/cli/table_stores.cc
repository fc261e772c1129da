#include "cli/table_stores.h"

#include <filesystem>

#include "cli/byte_size.h"
#include "fmt/format.h"
#include "store/redis/redis_table_store.h"
#include "store/rocksdb/rocksdb_table_store.h"

namespace strata::cli {

TableStoreFlags RocksDbFlags(const std::string& tables) {
  TableStoreFlags flags;
  flags.tables = tables;
  return flags;
}

TableStoreFlags RedisFlags(const std::string& redis_url) {
  TableStoreFlags flags;
  flags.store = "redis";
  flags.redis = redis_url;
  return flags;
}

void AddTableStoreFlags(CLI::App& command, TableStoreFlags& flags) {
  command
      .add_option("--store", flags.store, "Where tables live: rocksdb (embedded) or redis (shared)")
      ->capture_default_str()
      ->check(CLI::IsMember({"rocksdb", "redis"}));
  command.add_option("--tables", flags.tables,
                     "RocksDB tables directory (default: <repository>/tables)");
  command.add_option("--redis", flags.redis, "Redis server for --store redis")
      ->capture_default_str();
  command.add_option("--block-cache", flags.block_cache, "RocksDB block cache size")
      ->capture_default_str();
  command
      .add_option("--redis-grace", flags.redis_grace_seconds,
                  "Seconds a replaced Redis table version stays readable before it expires")
      ->capture_default_str();
}

absl::StatusOr<std::unique_ptr<store::TableStore>> CreateTableStore(const TableStoreFlags& flags,
                                                                    const std::string& repository) {
  if (flags.store == "redis") {
    absl::StatusOr<std::unique_ptr<store::RedisTableStore>> redis = store::RedisTableStore::Create(
        {.url = flags.redis,
         .grace_seconds = flags.redis_grace_seconds,
         .timeout = std::chrono::milliseconds(flags.redis_timeout_ms),
         .verify_on_open = flags.verify_redis_content,
         .signer = flags.artifact_signer,
         .verifier = flags.artifact_verifier,
         .lookups = {.connections = flags.redis_lookup_connections}});
    if (!redis.ok()) return redis.status();
    return std::unique_ptr<store::TableStore>(*std::move(redis));
  }
  const std::optional<size_t> cache = ParseByteSize(flags.block_cache);
  if (!cache) {
    return absl::InvalidArgumentError(
        fmt::format("--block-cache '{}' is not a size; use e.g. 256MiB", flags.block_cache));
  }
  std::string root = flags.tables;
  if (root.empty()) {
    if (repository.empty()) {
      return absl::InvalidArgumentError(
          "name the tables directory: --tables DIR or --repository DIR");
    }
    root = (std::filesystem::path(repository) / "tables").string();
  }
  absl::StatusOr<std::unique_ptr<store::RocksDbTableStore>> rocks =
      store::RocksDbTableStore::Create({.root = root,
                                        .block_cache_bytes = *cache,
                                        .artifact_verifier = flags.artifact_verifier});
  if (!rocks.ok()) return rocks.status();
  return std::unique_ptr<store::TableStore>(*std::move(rocks));
}

}  // namespace strata::cli
