// RedisTableStore keeps prediction tables in a Redis server shared by many
// strata replicas. Each version has its own key namespace:
//
//   strata:t:<table>:v<N>:k:<key bytes>   one row's value
//   strata:t:<table>:v<N>:manifest        its manifest (YAML), written last
//   strata:t:<table>:v<N>:manifest.sig    the manifest's Ed25519 signature
//                                         (with RedisOptions::signer)
//   strata:t:<table>:versions             set of committed version numbers
//   strata:t:<table>:current              the published version (the pointer)
//   strata:t:<table>:next                 version counter (INCR)
//   strata:tables                         set of table names
//
// Builders write with pipelining (thousands of SETs per round trip); a
// version exists once its manifest is written and it joins the versions
// set, and goes live by one SET of the pointer. Removed versions are not
// deleted at once: their keys get a TTL (the grace period), so replicas
// still reading them finish first. A table's MultiGet() uses a pooled
// connection on the caller's thread; its MultiGetAsync() goes to the
// store's RedisLookupPipeline, which coalesces concurrent lookups into one
// MGET per round trip. Thread-safe.
#ifndef STRATA_STORE_REDIS_REDIS_TABLE_STORE_H_
#define STRATA_STORE_REDIS_REDIS_TABLE_STORE_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "store/artifact_signer.h"
#include "store/artifact_verifier.h"
#include "store/redis/redis_connection.h"
#include "store/redis/redis_lookup_pipeline.h"
#include "store/table_store.h"

namespace strata::store {

struct RedisOptions {
  std::string url = "redis://127.0.0.1:6379";
  int grace_seconds = 300;
  std::chrono::milliseconds timeout{1000};  // connect and each command
  // Open() reads every record of the version and compares their row count
  // and checksum with the manifest's (store/table_verification.h): a
  // version changed in Redis after it was committed is refused with
  // DATA_LOSS naming it. A full scan (`strata serve` turns it on).
  bool verify_on_open = false;
  // Signed versions (`batch --signing-key`, `serve --trusted-key`): with a
  // signer that signs, a builder's Commit() stores the Ed25519 signature of
  // the manifest's exact text beside it; with a verifier that requires
  // signatures, Open() refuses a version whose manifest is unsigned or whose
  // signature does not verify (FAILED_PRECONDITION naming the version). The
  // manifest carries the records' checksum, which verify_on_open checks, so
  // the two together cover the data. Null: neither.
  std::shared_ptr<const ArtifactSigner> signer = nullptr;
  std::shared_ptr<const ArtifactVerifier> verifier = nullptr;
  int pipeline_depth = 2000;                // commands per round trip (builders)
  RedisLookupPipelineOptions lookups = {};  // the tables' MultiGetAsync
};

class RedisTableStore : public TableStore {
 public:
  static absl::StatusOr<std::unique_ptr<RedisTableStore>> Create(RedisOptions options);

  std::string_view kind() const override { return "redis"; }
  std::string location() const override { return pool_->address().ToString(); }
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

  static std::string TableKey(std::string_view table, std::string_view what);
  static std::string VersionPrefix(std::string_view table, int64_t version);

 private:
  RedisTableStore(RedisOptions options, std::shared_ptr<RedisConnectionPool> pool,
                  std::shared_ptr<RedisLookupPipeline> lookups)
      : options_(std::move(options)), pool_(std::move(pool)), lookups_(std::move(lookups)) {}

  // OK unless options_.verifier requires a signature that `version` lacks.
  absl::Status CheckSignature(std::string_view table, int64_t version) const;

  RedisOptions options_;
  std::shared_ptr<RedisConnectionPool> pool_;
  std::shared_ptr<RedisLookupPipeline> lookups_;  // shared with the open tables
};

}  // namespace strata::store

#endif  // STRATA_STORE_REDIS_REDIS_TABLE_STORE_H_
