// RedisTableMaintenance does to a Redis table store (redis_table_store.h)
// what its readers and builders never do:
//
// - finds versions that a writer killed mid-way left behind: keys under
//   strata:t:<table>:v<N>: for a version N that never joined the versions
//   set (its manifest is missing, or was written without the SADD that
//   follows), and removes them once nothing has written or read any of
//   their keys for a grace period. Versions retired by RemoveOldVersions
//   (their keys expire on their own) are left alone;
// - writes a version back under its own number from a table dump (a
//   backup), then its manifest, then adds it to the versions set.
//
// The grace period is judged by Redis's OBJECT IDLETIME, which a write or a
// read resets, so a writer still running keeps its version. Not thread-safe:
// one connection, one caller.
#ifndef STRATA_STORE_REDIS_REDIS_TABLE_MAINTENANCE_H_
#define STRATA_STORE_REDIS_REDIS_TABLE_MAINTENANCE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "store/redis/redis_connection.h"
#include "store/sorted_run.h"
#include "store/table_manifest.h"

namespace strata::store {

struct AbandonedVersion {
  int64_t version = 0;
  int64_t keys = 0;
  int64_t idle_seconds = 0;  // since the most recent write or read of any key
  bool removable = false;    // idle for at least the grace period
};

class RedisTableMaintenance {
 public:
  // `url`: redis://host:port[/db].
  static absl::StatusOr<std::unique_ptr<RedisTableMaintenance>> Connect(std::string_view url);

  // Every uncommitted version of `table` that still has keys, ascending;
  // `removable` where idle for `grace_seconds` or more (0: all of them,
  // without asking Redis for idle times).
  absl::StatusOr<std::vector<AbandonedVersion>> FindAbandoned(std::string_view table,
                                                              int64_t grace_seconds);

  // Deletes every key of `version` and takes it out of the versions set.
  // Returns how many keys went.
  absl::StatusOr<int64_t> RemoveVersion(std::string_view table, int64_t version);

  // Writes `manifest.version` of `manifest.table` from `records` (ascending
  // or not), replacing whatever that version held, then its manifest, and
  // adds it to the versions set; the version counter is raised past it.
  // Does not move the current pointer. Returns the rows written.
  absl::StatusOr<int64_t> RestoreVersion(const TableManifest& manifest, SortedRunMerger& records,
                                         const std::function<void(int64_t)>& progress = {});

 private:
  explicit RedisTableMaintenance(std::unique_ptr<RedisConnection> connection)
      : connection_(std::move(connection)) {}

  absl::StatusOr<std::vector<int64_t>> CommittedVersions(std::string_view table);
  absl::Status Scan(const std::string& pattern,
                    const std::function<absl::Status(std::vector<std::string>&)>& visit);
  absl::Status AddIdleTimes(const std::vector<std::string>& keys,
                            const std::vector<AbandonedVersion*>& versions);
  absl::StatusOr<bool> IsRetiring(std::string_view table, int64_t version);
  absl::Status Pipeline(const std::vector<std::vector<std::string>>& commands);

  std::unique_ptr<RedisConnection> connection_;
};

}  // namespace strata::store

#endif  // STRATA_STORE_REDIS_REDIS_TABLE_MAINTENANCE_H_
