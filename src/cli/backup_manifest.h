// BackupManifest describes one backup written by `strata backup`: where it
// was taken from, the model versions and table versions it holds, and every
// file with its size and SHA-256. It is written as MANIFEST.yaml, last,
// beside SHA256SUMS (the same checksums in sha256sum's format, the
// manifest's own included, so `sha256sum -c SHA256SUMS` checks a backup by
// hand). Value types and pure functions; thread-safe.
//
// A backup directory:
//   MANIFEST.yaml, SHA256SUMS
//   repository/...           the repository's files (models/<name>/...), tables
//   aside tables/<table>/<v>/...   committed RocksDB table versions, as files
//   redis/<table>/<v>/       Redis table versions: manifest.yaml and sorted
//   runs
#ifndef STRATA_CLI_BACKUP_MANIFEST_H_
#define STRATA_CLI_BACKUP_MANIFEST_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace strata::cli {

inline constexpr int kBackupFormat = 1;

struct BackupFile {
  std::string path = {};  // relative to the backup directory, '/'-separated
  uint64_t size = 0;
  std::string sha256 = {};
};

struct BackupTableVersion {
  int64_t version = 0;
  int64_t rows = 0;
  std::string checksum = {};  // the table manifest's TableChecksum, verified at backup
};

struct BackupTable {
  std::string name = {};
  std::string store = {};  // rocksdb | redis
  int64_t current = 0;
  std::vector<BackupTableVersion> versions = {};
};

// What the backed-up config.yaml says of a model's lifecycle.
struct BackupModel {
  std::string name = {};
  std::vector<int64_t> versions = {};
  std::map<std::string, int64_t> labels = {};
  int64_t default_version = 0;  // 0: the newest ready
};

struct BackupManifest {
  int format = kBackupFormat;
  std::string created = {};  // UTC, ISO 8601
  std::string strata_version = {};
  std::string repository = {};  // where it was taken from
  std::string tables = {};
  std::string redis = {};  // empty when Redis tables were not included
  std::vector<BackupModel> models = {};
  std::vector<BackupTable> tables_held = {};
  std::vector<BackupFile> files = {};
};

std::string BackupManifestToYaml(const BackupManifest& manifest);
absl::StatusOr<BackupManifest> ParseBackupManifest(std::string_view yaml);

// "<sha256>  <path>\n" per file, then the manifest's own line.
std::string Sha256Sums(const std::vector<BackupFile>& files, std::string_view manifest_sha256);
// path -> sha256. INVALID_ARGUMENT for a malformed line.
absl::StatusOr<std::map<std::string, std::string>> ParseSha256Sums(std::string_view text);

}  // namespace strata::cli

#endif  // STRATA_CLI_BACKUP_MANIFEST_H_
