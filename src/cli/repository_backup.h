// RepositoryBackup writes a backup of a repository (backup_manifest.h): its
// files (model versions and their config.yaml, which holds labels and the
// pinned default), every committed RocksDB table version, copied as files
// after its checksum is verified, and, given a Redis server, every Redis
// table version dumped to sorted runs and checked against its manifest. A
// damaged table version stops the backup unless `skip_corrupt`, so a backup
// holds only what was last known good. The backup is written under
// `<output>.partial` and renamed to `output` when complete. Not thread-safe.
#ifndef STRATA_CLI_REPOSITORY_BACKUP_H_
#define STRATA_CLI_REPOSITORY_BACKUP_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/backup_files.h"
#include "cli/backup_manifest.h"
#include "store/table_store.h"

namespace strata::cli {

struct BackupOptions {
  std::filesystem::path repository = {};
  std::filesystem::path tables = {};  // RocksDB tables; default <repository>/tables
  std::string redis = {};             // a Redis URL to include its tables; empty: none
  std::filesystem::path output = {};  // a directory that does not exist yet
  bool current_only = false;          // each table's current version only
  bool skip_corrupt = false;          // leave damaged table versions out, and say so
  ProgressMode progress = ProgressMode::kAuto;
};

struct BackupSummary {
  size_t files = 0;
  uint64_t bytes = 0;
  size_t model_versions = 0;
  size_t table_versions = 0;
  std::vector<std::string> skipped = {};  // "table 'x' version 3: why"
};

class RepositoryBackup {
 public:
  static absl::StatusOr<BackupSummary> Write(const BackupOptions& options);

 private:
  explicit RepositoryBackup(const BackupOptions& options);

  absl::Status Run();
  absl::Status PlanRepository();
  absl::Status PlanTables(store::TableStore& store, std::vector<BackupTable>& tables);
  absl::StatusOr<std::vector<int64_t>> ChooseVersions(store::TableStore& store,
                                                      const std::string& table, bool verify);
  absl::Status CopyFiles();
  absl::Status DumpRedisTables(store::TableStore& redis);
  absl::Status DumpRedisVersion(store::TableStore& redis, const std::string& table,
                                int64_t version);
  absl::Status AddWrittenFile(const std::string& rel);
  absl::Status Finish();

  const BackupOptions options_;
  const std::filesystem::path partial_;
  BackupManifest manifest_;
  BackupSummary summary_;
  // (source, path in the backup) of every file to copy.
  std::vector<std::pair<std::filesystem::path, std::string>> copies_ = {};
  uint64_t copy_bytes_ = 0;
};

// The repository's models as the backup records them: versions, labels and
// the pinned default from each config.yaml.
std::vector<BackupModel> DescribeModels(const std::filesystem::path& repository);

}  // namespace strata::cli

#endif  // STRATA_CLI_REPOSITORY_BACKUP_H_
