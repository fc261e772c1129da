// TableDirectory is the on-disk layout of a local table store:
//
//   <root>/<table>/<version>/manifest.yaml   a committed version and its data
//   <root>/<table>/CURRENT                   the published version number
//
// A version directory appears by one rename of a complete directory (its
// manifest written last before the rename), and CURRENT is replaced by a
// rename, so readers never see a half-written version or pointer. Used by
// embedded stores (store/rocksdb). Thread-safe (the file system serialises).
#ifndef STRATA_STORE_TABLE_DIRECTORY_H_
#define STRATA_STORE_TABLE_DIRECTORY_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "store/table_manifest.h"

namespace strata::store {

class TableDirectory {
 public:
  explicit TableDirectory(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path TableDir(std::string_view table) const;
  std::filesystem::path VersionDir(std::string_view table, int64_t version) const;

  std::vector<std::string> ListTables() const;
  // Integer-named directories that hold a manifest.yaml, ascending.
  std::vector<int64_t> ListVersions(std::string_view table) const;
  absl::StatusOr<TableManifest> ReadManifest(std::string_view table, int64_t version) const;
  absl::StatusOr<int64_t> CurrentVersion(std::string_view table) const;
  absl::Status SetCurrentVersion(std::string_view table, int64_t version) const;

  // Writes `manifest` into `build_dir` and renames it to the next free
  // version directory. Returns that version; `build_dir` is gone on success.
  absl::StatusOr<int64_t> CommitVersion(std::string_view table,
                                        const std::filesystem::path& build_dir,
                                        TableManifest manifest) const;

  // Deletes versions older than the newest `keep` and not current.
  absl::StatusOr<int> RemoveOldVersions(std::string_view table, int keep) const;

 private:
  std::filesystem::path root_;
};

// Writes `data` to `path` through a synced temporary file and a rename.
absl::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view data);
absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path);

}  // namespace strata::store

#endif  // STRATA_STORE_TABLE_DIRECTORY_H_
