#include "store/redis/redis_table_maintenance.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <set>

#include "fmt/format.h"
#include "store/redis/redis_table_store.h"

namespace strata::store {
namespace {

constexpr size_t kPipelineDepth = 2000;
constexpr int64_t kNeverTouched = std::numeric_limits<int64_t>::max();

std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t v = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (err != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// The N of "strata:t:<table>:v<N>:..." given the prefix "strata:t:<table>:v".
std::optional<int64_t> VersionOfKey(std::string_view key, std::string_view prefix) {
  if (!key.starts_with(prefix)) return std::nullopt;
  key.remove_prefix(prefix.size());
  const size_t colon = key.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return ParseInt(key.substr(0, colon));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisTableMaintenance>> RedisTableMaintenance::Connect(
    std::string_view url) {
  absl::StatusOr<RedisAddress> address = RedisAddress::Parse(url);
  if (!address.ok()) return address.status();
  absl::StatusOr<std::unique_ptr<RedisConnection>> c =
      RedisConnection::Connect(*address, std::chrono::milliseconds(30000));
  if (!c.ok()) return c.status();
  return std::unique_ptr<RedisTableMaintenance>(new RedisTableMaintenance(*std::move(c)));
}

absl::StatusOr<std::vector<int64_t>> RedisTableMaintenance::CommittedVersions(
    std::string_view table) {
  absl::StatusOr<RedisReply> reply =
      connection_->Command({"SMEMBERS", RedisTableStore::TableKey(table, "versions")});
  if (!reply.ok()) return reply.status();
  std::vector<int64_t> versions;
  for (size_t i = 0; i < (*reply)->elements; ++i) {
    const redisReply* e = (*reply)->element[i];
    if (std::optional<int64_t> v = ParseInt(std::string_view(e->str, e->len))) {
      versions.push_back(*v);
    }
  }
  return versions;
}

absl::Status RedisTableMaintenance::Scan(
    const std::string& pattern,
    const std::function<absl::Status(std::vector<std::string>&)>& visit) {
  return ScanKeys(*connection_, pattern, visit);
}

absl::Status RedisTableMaintenance::AddIdleTimes(const std::vector<std::string>& keys,
                                                 const std::vector<AbandonedVersion*>& versions) {
  for (const std::string& key : keys) {
    if (absl::Status s = connection_->Append({"OBJECT", "IDLETIME", key}); !s.ok()) return s;
  }
  absl::Status first_error;
  for (size_t i = 0; i < keys.size(); ++i) {
    absl::StatusOr<RedisReply> reply = connection_->ReadReply();
    if (!reply.ok()) {
      if (first_error.ok()) first_error = reply.status();
      continue;  // read every reply, so the connection stays in step
    }
    if ((*reply)->type == REDIS_REPLY_INTEGER) {
      versions[i]->idle_seconds =
          std::min(versions[i]->idle_seconds, static_cast<int64_t>((*reply)->integer));
    }
  }
  if (!first_error.ok()) {
    return absl::FailedPreconditionError(
        fmt::format("cannot tell how long the keys have been idle ({}); with "
                    "an LFU maxmemory-policy "
                    "Redis does not track it: pass --grace 0 to remove every "
                    "uncommitted version, but "
                    "only while no batch job writes to this table",
                    std::string(first_error.message())));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> RedisTableMaintenance::IsRetiring(std::string_view table, int64_t version) {
  absl::StatusOr<RedisReply> ttl =
      connection_->Command({"PTTL", RedisTableStore::VersionPrefix(table, version) + "manifest"});
  if (!ttl.ok()) return ttl.status();
  return (*ttl)->type == REDIS_REPLY_INTEGER && (*ttl)->integer > 0;
}

absl::StatusOr<std::vector<AbandonedVersion>> RedisTableMaintenance::FindAbandoned(
    std::string_view table, int64_t grace_seconds) {
  absl::StatusOr<std::vector<int64_t>> committed_list = CommittedVersions(table);
  if (!committed_list.ok()) return committed_list.status();
  const std::set<int64_t> committed(committed_list->begin(), committed_list->end());
  const std::string prefix = fmt::format("strata:t:{}:v", table);
  std::map<int64_t, AbandonedVersion> found;
  absl::Status scanned = Scan(prefix + "*", [&](std::vector<std::string>& keys) {
    std::vector<std::string> idle_keys;
    std::vector<AbandonedVersion*> owners;
    for (const std::string& key : keys) {
      const std::optional<int64_t> v = VersionOfKey(key, prefix);
      if (!v || committed.contains(*v)) continue;
      auto [it, added] = found.try_emplace(*v);
      if (added) {
        it->second.version = *v;
        // The minimum over the keys' idle times; unknown (0) without a
        // grace.
        it->second.idle_seconds = grace_seconds > 0 ? kNeverTouched : 0;
      }
      ++it->second.keys;
      if (grace_seconds > 0) {
        idle_keys.push_back(key);
        owners.push_back(&it->second);
      }
    }
    return idle_keys.empty() ? absl::OkStatus() : AddIdleTimes(idle_keys, owners);
  });
  if (!scanned.ok()) return scanned;
  std::vector<AbandonedVersion> abandoned;
  for (auto& [version, a] : found) {
    absl::StatusOr<bool> retiring = IsRetiring(table, version);
    if (!retiring.ok()) return retiring.status();
    if (*retiring) continue;  // RemoveOldVersions set its keys to expire
    a.removable = a.idle_seconds >= grace_seconds;
    abandoned.push_back(a);
  }
  return abandoned;
}

absl::StatusOr<int64_t> RedisTableMaintenance::RemoveVersion(std::string_view table,
                                                             int64_t version) {
  absl::StatusOr<RedisReply> removed = connection_->Command(
      {"SREM", RedisTableStore::TableKey(table, "versions"), std::to_string(version)});
  if (!removed.ok()) return removed.status();
  int64_t keys = 0;
  absl::Status s = Scan(RedisTableStore::VersionPrefix(table, version) + "*",
                        [&](std::vector<std::string>& batch) {
                          std::vector<std::string_view> args = {"UNLINK"};
                          args.insert(args.end(), batch.begin(), batch.end());
                          keys += static_cast<int64_t>(batch.size());
                          return connection_->Command(args).status();
                        });
  if (!s.ok()) return s;
  return keys;
}

absl::Status RedisTableMaintenance::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  for (const std::vector<std::string>& command : commands) {
    std::vector<std::string_view> args(command.begin(), command.end());
    if (absl::Status s = connection_->Append(args); !s.ok()) return s;
  }
  absl::Status first_error;
  for (size_t i = 0; i < commands.size(); ++i) {
    absl::StatusOr<RedisReply> reply = connection_->ReadReply();
    if (!reply.ok() && first_error.ok()) first_error = reply.status();
  }
  return first_error;
}

absl::StatusOr<int64_t> RedisTableMaintenance::RestoreVersion(
    const TableManifest& manifest, SortedRunMerger& records,
    const std::function<void(int64_t)>& progress) {
  const std::string_view table = manifest.table;
  TableManifest stored = manifest;
  stored.store = "redis";
  absl::StatusOr<int64_t> removed = RemoveVersion(table, manifest.version);
  if (!removed.ok()) return removed.status();
  const std::string prefix = RedisTableStore::VersionPrefix(table, manifest.version) + "k:";
  std::vector<std::vector<std::string>> batch;
  int64_t rows = 0;
  while (records.Next()) {
    batch.push_back({"SET", prefix + std::string(records.key()), std::string(records.value())});
    if (batch.size() < kPipelineDepth) continue;
    if (absl::Status s = Pipeline(batch); !s.ok()) return s;
    rows += static_cast<int64_t>(batch.size());
    batch.clear();
    if (progress) progress(rows);
  }
  if (absl::Status s = records.status(); !s.ok()) return s;
  rows += static_cast<int64_t>(batch.size());
  if (absl::Status s = Pipeline(batch); !s.ok()) return s;
  const std::string version = std::to_string(manifest.version);
  absl::Status committed =
      Pipeline({{"SET", RedisTableStore::VersionPrefix(table, manifest.version) + "manifest",
                 ManifestToYaml(stored)},
                {"SADD", RedisTableStore::TableKey(table, "versions"), version},
                {"SADD", "strata:tables", std::string(table)}});
  if (!committed.ok()) return committed;
  absl::StatusOr<RedisReply> next =
      connection_->Command({"GET", RedisTableStore::TableKey(table, "next")});
  if (!next.ok()) return next.status();
  const std::optional<int64_t> counter =
      (*next)->type == REDIS_REPLY_STRING ? ParseInt(std::string_view((*next)->str, (*next)->len))
                                          : std::nullopt;
  if (!counter || *counter < manifest.version) {
    absl::Status s =
        connection_->Command({"SET", RedisTableStore::TableKey(table, "next"), version}).status();
    if (!s.ok()) return s;
  }
  if (progress) progress(rows);
  return rows;
}

}  // namespace strata::store
