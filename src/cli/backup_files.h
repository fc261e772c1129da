// File work shared by `strata backup` and `strata restore`: listing a tree,
// copying a file while hashing it (SHA-256), syncing, and a progress line
// for long copies. Functions are thread-compatible; CopyProgress is not
// thread-safe.
#ifndef STRATA_CLI_BACKUP_FILES_H_
#define STRATA_CLI_BACKUP_FILES_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace strata::cli {

enum class ProgressMode { kAuto, kLines, kOff };

// Prints "<what>: 42% (1.2 GiB of 2.9 GiB) <current item>" to stderr at
// most every two seconds (kAuto: only when stderr is a terminal).
class CopyProgress {
 public:
  CopyProgress(std::string what, ProgressMode mode, uint64_t total_bytes);
  void Add(uint64_t bytes, std::string_view item);
  void Note(std::string_view line);  // a line of its own, e.g. a table's rows
  uint64_t done() const { return done_; }

 private:
  std::string what_;
  bool enabled_;
  uint64_t total_;
  uint64_t done_ = 0;
  std::chrono::steady_clock::time_point last_;
};

// "1.2 GiB", "340 KiB", "12 B".
std::string HumanBytes(uint64_t bytes);

// Regular files under `dir`, as '/'-separated paths relative to it, sorted.
// Names starting with '.' (staging, temporary) are skipped at any depth,
// and so is `exclude` (a path relative to `dir`) when given.
std::vector<std::string> ListFiles(const std::filesystem::path& dir, std::string_view exclude = {});

struct CopiedFile {
  uint64_t size = 0;
  std::string sha256;
};

// Copies `from` to `to` (creating its directory), hashing the bytes as they
// pass, and syncs `to`.
absl::StatusOr<CopiedFile> CopyHashed(const std::filesystem::path& from,
                                      const std::filesystem::path& to, CopyProgress* progress);

// `path` relative to `root` ('/'-separated) when it lies inside it, else "".
std::string RelativeInside(const std::filesystem::path& path, const std::filesystem::path& root);

// Writes `data` to `path` and syncs it.
absl::Status WriteSynced(const std::filesystem::path& path, std::string_view data);
// Syncs a directory, so the renames and creations inside it persist.
void SyncDirectory(const std::filesystem::path& dir);

}  // namespace strata::cli

#endif  // STRATA_CLI_BACKUP_FILES_H_
