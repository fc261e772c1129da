// RepositoryRestore brings a repository back to the state a backup holds
// (repository_backup.h), verified before anything is served:
//
// 1. the whole backup is checked first: SHA256SUMS, MANIFEST.yaml and the
//    SHA-256 of every file; a damaged backup is refused, nothing touched;
// 2. each unit (a model or table version directory, or a single file such
//    as config.yaml) that is missing or differs from the backup is copied
//    under a hidden name beside its place, its copy checked against the
//    backup's checksums, and renamed into place, so a server watching the
//    repository sees either the old unit or the whole restored one;
// 3. table pointers are set to the backup's current versions, Redis table
//    versions are rebuilt from their dumps, and every table version is
//    verified (row count and checksum) against its manifest.
//
// Units that match the backup are left alone; what the repository holds
// beyond the backup is reported, and removed only with `prune`. Not
// thread-safe.
#ifndef STRATA_CLI_REPOSITORY_RESTORE_H_
#define STRATA_CLI_REPOSITORY_RESTORE_H_

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/backup_files.h"
#include "cli/backup_manifest.h"
#include "store/table_store.h"

namespace strata::cli {

struct RestoreOptions {
  std::filesystem::path backup = {};
  std::filesystem::path repository = {};
  std::filesystem::path tables = {};  // RocksDB tables; default <repository>/tables
  std::string redis = {};             // rebuild Redis tables there; empty: leave them
  bool prune = false;                 // remove what the backup does not hold
  bool dry_run = false;               // verify the backup and report, change nothing
  ProgressMode progress = ProgressMode::kAuto;
};

struct RestoreSummary {
  std::vector<std::string> restored = {};  // units written back
  size_t intact = 0;                       // units that already matched
  std::vector<std::string> extras = {};    // not in the backup (removed when pruning)
  std::vector<std::string> verified = {};  // table versions checked after restoring
  std::vector<std::string> notes = {};
};

class RepositoryRestore {
 public:
  // Checks every checksum of the backup. DATA_LOSS naming what is damaged.
  static absl::StatusOr<BackupManifest> VerifyBackup(const std::filesystem::path& backup,
                                                     ProgressMode progress);

  static absl::StatusOr<RestoreSummary> Run(const RestoreOptions& options);

  // One directory or file restored as a whole.
  struct Unit {
    std::string name = {};              // e.g. "models/m/3", "tables/t/2"
    std::filesystem::path target = {};  // where it goes
    bool directory = false;
    std::string prefix = {};  // its path in the backup, '/'-ended for directories
    std::vector<const BackupFile*> files = {};
  };

 private:
  RepositoryRestore(const RestoreOptions& options, BackupManifest manifest);

  std::map<std::string, Unit> BackupUnits() const;
  bool Matches(const Unit& unit) const;
  absl::Status RestoreUnit(const Unit& unit);
  std::vector<std::pair<std::string, std::filesystem::path>> Extras(
      const std::map<std::string, Unit>& units) const;
  absl::Status RestoreRocksDbTables();
  absl::Status RestoreRedisTables();
  absl::Status RestoreRedisVersion(store::TableStore& redis, const BackupTable& table,
                                   const BackupTableVersion& version);

  const RestoreOptions options_;
  const BackupManifest manifest_;
  const std::filesystem::path tables_;
  RestoreSummary summary_;
};

}  // namespace strata::cli

#endif  // STRATA_CLI_REPOSITORY_RESTORE_H_
