// The table store flags shared by `strata batch`, `strata table` and
// `strata serve`, and the factory that turns them into a store::TableStore
// (the composition root is the only place that names concrete stores).
#ifndef STRATA_CLI_TABLE_STORES_H_
#define STRATA_CLI_TABLE_STORES_H_

#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "store/artifact_signer.h"
#include "store/artifact_verifier.h"
#include "store/table_store.h"

namespace strata::cli {

struct TableStoreFlags {
  std::string store = "rocksdb";  // rocksdb | redis
  std::string tables;             // rocksdb: directory; default <repository>/tables
  std::string redis = "redis://127.0.0.1:6379";
  std::string block_cache = "256MiB";
  int redis_grace_seconds = 300;
  int redis_timeout_ms = 1000;       // connect and each command
  int redis_lookup_connections = 2;  // connections that coalesce async lookups
  // RocksDB versions' files checked before they open (`serve --trusted-key`);
  // null: SHA256SUMS checked when present. With a trusted key, a Redis
  // version's manifest must carry its signature too.
  std::shared_ptr<const store::ArtifactVerifier> artifact_verifier = nullptr;
  // Redis versions' manifests signed as they are committed (`batch
  // --signing-key`); null: unsigned. (RocksDB versions are signed by the
  // batch job's on_commit, as files.)
  std::shared_ptr<const store::ArtifactSigner> artifact_signer = nullptr;
  // Redis versions' records checked against their manifest's row count and
  // checksum before they open (a full scan; `serve`'s default).
  bool verify_redis_content = false;
};

// Flags for a RocksDB store in `tables` or a Redis store at `redis_url`.
TableStoreFlags RocksDbFlags(const std::string& tables);
TableStoreFlags RedisFlags(const std::string& redis_url);

// Adds --store, --tables, --redis, --block-cache, --redis-grace to `command`.
void AddTableStoreFlags(CLI::App& command, TableStoreFlags& flags);

// `repository` supplies the default tables directory (<repository>/tables).
absl::StatusOr<std::unique_ptr<store::TableStore>> CreateTableStore(const TableStoreFlags& flags,
                                                                    const std::string& repository);

}  // namespace strata::cli

#endif  // STRATA_CLI_TABLE_STORES_H_
