#include "store/redis/redis_table_store.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>

#include "fmt/format.h"
#include "store/table_verification.h"

namespace strata::store {
namespace {

std::optional<int64_t> ToInt(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_INTEGER) return reply.integer;
  if (reply.type != REDIS_REPLY_STRING) return std::nullopt;
  int64_t v = 0;
  auto [end, err] = std::from_chars(reply.str, reply.str + reply.len, v);
  if (err != std::errc() || end != reply.str + reply.len) return std::nullopt;
  return v;
}

class RedisPredictionTable : public PredictionTable {
 public:
  RedisPredictionTable(TableManifest manifest, std::shared_ptr<RedisConnectionPool> pool,
                       std::shared_ptr<RedisLookupPipeline> lookups, std::string prefix)
      : manifest_(std::move(manifest)),
        pool_(std::move(pool)),
        lookups_(std::move(lookups)),
        prefix_(std::move(prefix)) {}

  const TableManifest& manifest() const override { return manifest_; }

  absl::StatusOr<LookupResult> MultiGet(std::span<const std::string> keys) const override {
    LookupResult result;
    result.values.resize(keys.size());
    result.found.assign(keys.size(), 0);
    if (keys.empty()) return result;
    std::vector<std::string> full;
    full.reserve(keys.size());
    for (const std::string& k : keys) full.push_back(prefix_ + k);
    std::vector<std::string_view> args = {"MGET"};
    args.insert(args.end(), full.begin(), full.end());
    absl::StatusOr<PooledRedisConnection> c = PooledRedisConnection::Acquire(*pool_);
    if (!c.ok()) return c.status();
    absl::StatusOr<RedisReply> reply = (*c)->Command(args);
    if (!reply.ok()) return absl::UnavailableError(reply.status().message());
    const redisReply& r = **reply;
    if (r.type != REDIS_REPLY_ARRAY || r.elements != keys.size()) {
      return absl::UnavailableError("unexpected MGET reply");
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      if (r.element[i]->type == REDIS_REPLY_STRING) {
        result.values[i].assign(r.element[i]->str, r.element[i]->len);
        result.found[i] = 1;
      }
    }
    return result;
  }

  void MultiGetAsync(std::span<const std::string> keys, LookupCallback done) const override {
    lookups_->Submit(prefix_, keys, std::move(done));
  }
  AsyncLookup async_lookup() const override { return AsyncLookup::kQueued; }

  absl::Status Scan(const Visitor& visit) const override {
    absl::StatusOr<PooledRedisConnection> c = PooledRedisConnection::Acquire(*pool_);
    if (!c.ok()) return c.status();
    absl::StatusOr<PooledRedisConnection> values = PooledRedisConnection::Acquire(*pool_);
    if (!values.ok()) return values.status();
    return ScanKeys(c->get(), prefix_ + "*", [&](std::vector<std::string>& keys) {
      std::vector<std::string_view> args = {"MGET"};
      args.insert(args.end(), keys.begin(), keys.end());
      absl::StatusOr<RedisReply> reply = (*values)->Command(args);
      if (!reply.ok()) return reply.status();
      for (size_t i = 0; i < keys.size(); ++i) {
        const redisReply* v = (*reply)->element[i];
        if (v->type != REDIS_REPLY_STRING) continue;  // expired meanwhile
        absl::Status s = visit(std::string_view(keys[i]).substr(prefix_.size()),
                               std::string_view(v->str, v->len));
        if (!s.ok()) return s;
      }
      return absl::OkStatus();
    });
  }

 private:
  TableManifest manifest_;
  std::shared_ptr<RedisConnectionPool> pool_;
  std::shared_ptr<RedisLookupPipeline> lookups_;
  std::string prefix_;
};

class RedisTableBuilder : public TableBuilder {
 public:
  RedisTableBuilder(std::string table, int64_t version, std::unique_ptr<RedisConnection> c,
                    int depth, std::shared_ptr<const ArtifactSigner> signer)
      : table_(std::move(table)),
        version_(version),
        signer_(std::move(signer)),
        prefix_(RedisTableStore::VersionPrefix(table_, version) + "k:"),
        connection_(std::move(c)),
        depth_(depth) {}

  ~RedisTableBuilder() override {
    if (committed_ || !connection_->healthy()) return;
    // Nothing of an abandoned version stays: delete what was written.
    (void)Drain();
    (void)ScanKeys(*connection_, RedisTableStore::VersionPrefix(table_, version_) + "*",
                   [&](std::vector<std::string>& keys) {
                     std::vector<std::string_view> args = {"UNLINK"};
                     args.insert(args.end(), keys.begin(), keys.end());
                     return connection_->Command(args).status();
                   });
  }

  absl::Status Add(std::string_view key, std::string_view value) override {
    key_.assign(prefix_).append(key);
    if (absl::Status s = connection_->Append({"SET", key_, value}); !s.ok()) return s;
    if (++pending_ >= depth_) return Drain();
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> Commit(TableManifest manifest) override {
    if (absl::Status s = Drain(); !s.ok()) return s;
    manifest.store = "redis";
    manifest.version = version_;
    const std::string yaml = ManifestToYaml(manifest);
    const std::string version = std::to_string(version_);
    const std::string manifest_key = RedisTableStore::VersionPrefix(table_, version_) + "manifest";
    const std::string versions_key = RedisTableStore::TableKey(table_, "versions");
    std::vector<std::vector<std::string_view>> commands = {{"SET", manifest_key, yaml},
                                                           {"SADD", versions_key, version},
                                                           {"SADD", "strata:tables", table_}};
    // The signature goes first: a version is committed once its manifest is.
    const std::string signature_key = manifest_key + ".sig";
    absl::StatusOr<std::string> signature = std::string();
    if (signer_ != nullptr && signer_->signs()) {
      signature = signer_->Sign(yaml);
      if (!signature.ok()) return signature.status();
      commands.insert(commands.begin(), {"SET", signature_key, *signature});
    }
    for (const std::vector<std::string_view>& command : commands) {
      absl::StatusOr<RedisReply> reply = connection_->Command(command);
      if (!reply.ok()) return reply.status();
    }
    committed_ = true;
    return version_;
  }

 private:
  absl::Status Drain() {
    for (; pending_ > 0; --pending_) {
      absl::StatusOr<RedisReply> reply = connection_->ReadReply();
      if (!reply.ok()) return reply.status();
    }
    return absl::OkStatus();
  }

  std::string table_;
  int64_t version_;
  std::shared_ptr<const ArtifactSigner> signer_;  // null: unsigned
  std::string prefix_;
  std::unique_ptr<RedisConnection> connection_;
  int depth_;
  int pending_ = 0;
  std::string key_;
  bool committed_ = false;
};

}  // namespace

std::string RedisTableStore::TableKey(std::string_view table, std::string_view what) {
  return fmt::format("strata:t:{}:{}", table, what);
}

std::string RedisTableStore::VersionPrefix(std::string_view table, int64_t version) {
  return fmt::format("strata:t:{}:v{}:", table, version);
}

absl::StatusOr<std::unique_ptr<RedisTableStore>> RedisTableStore::Create(RedisOptions options) {
  absl::StatusOr<RedisAddress> address = RedisAddress::Parse(options.url);
  if (!address.ok()) return address.status();
  auto pool = std::make_shared<RedisConnectionPool>(*address, options.timeout);
  auto lookups = std::make_shared<RedisLookupPipeline>(*address, options.timeout, options.lookups);
  return std::unique_ptr<RedisTableStore>(
      new RedisTableStore(std::move(options), std::move(pool), std::move(lookups)));
}

absl::StatusOr<std::vector<std::string>> RedisTableStore::ListTables() const {
  absl::StatusOr<PooledRedisConnection> c = PooledRedisConnection::Acquire(*pool_);
  if (!c.ok()) return c.status();
  absl::StatusOr<RedisReply> reply = (*c)->Command({"SMEMBERS", "strata:tables"});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> tables;
  for (size_t i = 0; i < (*reply)->elements; ++i) {
    tables.emplace_back((*reply)->element[i]->str, (*reply)->element[i]->len);
  }
  std::sort(tables.begin(), tables.end());
  return tables;
}

absl::StatusOr<std::vector<int64_t>> RedisTableStore::ListVersions(std::string_view table) const {
  absl::StatusOr<PooledRedisConnection> c = PooledRedisConnection::Acquire(*pool_);
  if (!c.ok()) return c.status();
  absl::StatusOr<RedisReply> reply = (*c)->Command({"SMEMBERS", TableKey(table, "versions")});
  if (!reply.ok()) return reply.status();
  std::vector<int64_t> versions;
  for (size_t i = 0; i < (*reply)->elements; ++i) {
    if (std::optional<int64_t> v = ToInt(*(*reply)->element[i])) versions.push_back(*v);
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

absl::StatusOr<TableManifest> RedisTableStore::ReadManifest(std::string_view table,
                                                            int64_t version) const {
  absl::StatusOr<PooledRedisConnection> c = PooledRedisConnection::Acquire(*pool_);
  if (!c.ok()) return c.status();
  absl::StatusOr<RedisReply> reply =
      (*c)->Command({"GET", VersionPrefix(table, version) + "manifest"});
  if (!reply.ok()) return reply.status();
  if ((*reply)->type != REDIS_REPLY_STRING) {
    return absl::NotFoundError(fmt::format("table '{}' has no version {}", table, version));
  }
  absl::StatusOr<TableManifest> manifest =
      ParseManifest(std::string_view((*reply)->str, (*reply)->len));
  if (!manifest.ok()) {
    return absl::DataLossError(fmt::format("table '{}' version {}: {}", table, version,
                                           std::string(manifest.status().message())));
  }
  return manifest;
}

absl::StatusOr<int64_t> RedisTableStore::CurrentVersion(std::string_view table) const {
  absl::StatusOr<PooledRedisConnection> c = PooledRedisConnection::Acquire(*pool_);
  if (!c.ok()) return c.status();
  absl::StatusOr<RedisReply> reply = (*c)->Command({"GET", TableKey(table, "current")});
  if (!reply.ok()) return reply.status();
  if ((*reply)->type == REDIS_REPLY_STRING) {
    if (std::optional<int64_t> v = ToInt(**reply)) return *v;
  }
  absl::StatusOr<std::vector<int64_t>> versions = ListVersions(table);
  if (!versions.ok()) return versions.status();
  return versions->empty() ? 0 : versions->back();
}

absl::Status RedisTableStore::SetCurrentVersion(std::string_view table, int64_t version) {
  absl::StatusOr<PooledRedisConnection> c = PooledRedisConnection::Acquire(*pool_);
  if (!c.ok()) return c.status();
  const std::string v = std::to_string(version);
  absl::StatusOr<RedisReply> member = (*c)->Command({"SISMEMBER", TableKey(table, "versions"), v});
  if (!member.ok()) return member.status();
  if ((*member)->integer != 1) {
    return absl::NotFoundError(fmt::format("table '{}' has no version {}", table, version));
  }
  return (*c)->Command({"SET", TableKey(table, "current"), v}).status();
}

absl::StatusOr<std::unique_ptr<TableBuilder>> RedisTableStore::NewBuilder(
    std::string_view table, const std::filesystem::path&) {
  if (absl::Status s = ValidateTableName(table); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<RedisConnection>> c =
      RedisConnection::Connect(pool_->address(), std::chrono::milliseconds(30000));
  if (!c.ok()) return c.status();
  absl::StatusOr<RedisReply> next = (*c)->Command({"INCR", TableKey(table, "next")});
  if (!next.ok()) return next.status();
  // Versions written by other means (or before a counter reset) stay below.
  int64_t version = (*next)->integer;
  absl::StatusOr<std::vector<int64_t>> versions = ListVersions(table);
  if (versions.ok() && !versions->empty() && versions->back() >= version) {
    version = versions->back() + 1;
    (void)(*c)->Command({"SET", TableKey(table, "next"), std::to_string(version)});
  }
  return std::unique_ptr<TableBuilder>(new RedisTableBuilder(
      std::string(table), version, *std::move(c), options_.pipeline_depth, options_.signer));
}

absl::StatusOr<std::shared_ptr<PredictionTable>> RedisTableStore::Open(std::string_view table,
                                                                       int64_t version) const {
  absl::StatusOr<TableManifest> manifest = ReadManifest(table, version);
  if (!manifest.ok()) return manifest.status();
  if (absl::Status s = CheckSignature(table, version); !s.ok()) return s;
  auto opened = std::shared_ptr<PredictionTable>(new RedisPredictionTable(
      *std::move(manifest), pool_, lookups_, VersionPrefix(table, version) + "k:"));
  if (options_.verify_on_open) {
    if (absl::Status s = VerifyTableData(*opened); !s.ok()) return s;
  }
  return opened;
}

absl::Status RedisTableStore::CheckSignature(std::string_view table, int64_t version) const {
  if (options_.verifier == nullptr || !options_.verifier->requires_signature()) {
    return absl::OkStatus();
  }
  absl::StatusOr<PooledRedisConnection> c = PooledRedisConnection::Acquire(*pool_);
  if (!c.ok()) return c.status();
  const std::string manifest_key = VersionPrefix(table, version) + "manifest";
  absl::StatusOr<RedisReply> manifest = (*c)->Command({"GET", manifest_key});
  if (!manifest.ok()) return manifest.status();
  absl::StatusOr<RedisReply> signature = (*c)->Command({"GET", manifest_key + ".sig"});
  if (!signature.ok()) return signature.status();
  if ((*signature)->type != REDIS_REPLY_STRING) {
    return absl::FailedPreconditionError(
        fmt::format("table '{}' version {}: unsigned (no {}.sig; a trusted key is required)", table,
                    version, manifest_key));
  }
  if ((*manifest)->type != REDIS_REPLY_STRING ||
      !options_.verifier
           ->VerifySignatureOf(std::string_view((*manifest)->str, (*manifest)->len),
                               std::string_view((*signature)->str, (*signature)->len))
           .ok()) {
    return absl::FailedPreconditionError(
        fmt::format("table '{}' version {}: bad signature: {}.sig does not verify its manifest "
                    "with the trusted key",
                    table, version, manifest_key));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> RedisTableStore::RemoveOldVersions(std::string_view table, int keep) {
  absl::StatusOr<int64_t> current = CurrentVersion(table);
  if (!current.ok()) return current.status();
  absl::StatusOr<std::vector<int64_t>> versions = ListVersions(table);
  if (!versions.ok()) return versions.status();
  absl::StatusOr<PooledRedisConnection> c = PooledRedisConnection::Acquire(*pool_);
  if (!c.ok()) return c.status();
  const std::string grace = std::to_string(std::max(1, options_.grace_seconds));
  int removed = 0;
  for (size_t i = 0; i + keep < versions->size(); ++i) {
    const int64_t v = (*versions)[i];
    if (v == *current) continue;
    absl::StatusOr<RedisReply> reply =
        (*c)->Command({"SREM", TableKey(table, "versions"), std::to_string(v)});
    if (!reply.ok()) return reply.status();
    // Keys expire after the grace period; replicas reading them finish first.
    absl::Status s =
        ScanKeys(c->get(), VersionPrefix(table, v) + "*", [&](std::vector<std::string>& keys) {
          for (const std::string& k : keys) {
            absl::Status a = (*c)->Append({"EXPIRE", k, grace});
            if (!a.ok()) return a;
          }
          for (size_t n = 0; n < keys.size(); ++n) {
            absl::StatusOr<RedisReply> r = (*c)->ReadReply();
            if (!r.ok()) return r.status();
          }
          return absl::OkStatus();
        });
    if (!s.ok()) return s;
    ++removed;
  }
  return removed;
}

}  // namespace strata::store
