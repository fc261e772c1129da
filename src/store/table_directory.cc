#include "store/table_directory.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "fmt/format.h"

namespace strata::store {
namespace fs = std::filesystem;
namespace {

std::optional<int64_t> ParseVersion(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  int64_t version = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (err != std::errc() || end != text.data() + text.size() || version <= 0) {
    return std::nullopt;
  }
  return version;
}

void SyncDirectory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

absl::Status WriteFileAtomically(const fs::path& path, std::string_view data) {
  const fs::path tmp = fs::path(path.string() + ".tmp");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    return absl::InternalError(
        fmt::format("cannot create {}: {}", tmp.string(), std::strerror(errno)));
  }
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  const bool ok = written == data.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string error = std::strerror(errno);
    ::unlink(tmp.c_str());
    return absl::InternalError(fmt::format("cannot write {}: {}", path.string(), error));
  }
  SyncDirectory(path.parent_path());
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(fmt::format("cannot read {}", path.string()));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

fs::path TableDirectory::TableDir(std::string_view table) const {
  return root_ / std::string(table);
}

fs::path TableDirectory::VersionDir(std::string_view table, int64_t version) const {
  return TableDir(table) / std::to_string(version);
}

std::vector<std::string> TableDirectory::ListTables() const {
  std::vector<std::string> tables;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(root_, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && !name.empty() && name[0] != '.') tables.push_back(name);
  }
  std::sort(tables.begin(), tables.end());
  return tables;
}

std::vector<int64_t> TableDirectory::ListVersions(std::string_view table) const {
  std::vector<int64_t> versions;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(TableDir(table), ec)) {
    const std::optional<int64_t> v = ParseVersion(e.path().filename().string());
    if (v && e.is_directory() && fs::exists(e.path() / "manifest.yaml")) {
      versions.push_back(*v);
    }
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

absl::StatusOr<TableManifest> TableDirectory::ReadManifest(std::string_view table,
                                                           int64_t version) const {
  const fs::path path = VersionDir(table, version) / "manifest.yaml";
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return absl::NotFoundError(fmt::format("table '{}' has no version {}", table, version));
  }
  absl::StatusOr<TableManifest> manifest = ParseManifest(*text);
  if (!manifest.ok()) {
    return absl::DataLossError(
        fmt::format("{}: {}", path.string(), std::string(manifest.status().message())));
  }
  return manifest;
}

absl::StatusOr<int64_t> TableDirectory::CurrentVersion(std::string_view table) const {
  const fs::path pointer = TableDir(table) / "CURRENT";
  std::error_code ec;
  if (fs::exists(pointer, ec)) {
    absl::StatusOr<std::string> text = ReadFile(pointer);
    if (!text.ok()) return text.status();
    const std::optional<int64_t> v = ParseVersion(*text);
    if (!v) {
      return absl::DataLossError(
          fmt::format("{} does not hold a version number", pointer.string()));
    }
    return *v;
  }
  const std::vector<int64_t> versions = ListVersions(table);
  return versions.empty() ? 0 : versions.back();
}

absl::Status TableDirectory::SetCurrentVersion(std::string_view table, int64_t version) const {
  std::error_code ec;
  if (!fs::exists(VersionDir(table, version) / "manifest.yaml", ec)) {
    return absl::NotFoundError(fmt::format("table '{}' has no version {}", table, version));
  }
  return WriteFileAtomically(TableDir(table) / "CURRENT", fmt::format("{}\n", version));
}

absl::StatusOr<int64_t> TableDirectory::CommitVersion(std::string_view table,
                                                      const fs::path& build_dir,
                                                      TableManifest manifest) const {
  std::error_code ec;
  fs::create_directories(TableDir(table), ec);
  if (ec) {
    return absl::InternalError(
        fmt::format("cannot create {}: {}", TableDir(table).string(), ec.message()));
  }
  const std::vector<int64_t> versions = ListVersions(table);
  int64_t version = versions.empty() ? 1 : versions.back() + 1;
  for (int attempt = 0; attempt < 100; ++attempt, ++version) {
    manifest.version = version;
    absl::Status written =
        WriteFileAtomically(build_dir / "manifest.yaml", ManifestToYaml(manifest));
    if (!written.ok()) return written;
    SyncDirectory(build_dir);
    const fs::path target = VersionDir(table, version);
    if (::rename(build_dir.c_str(), target.c_str()) == 0) {
      SyncDirectory(TableDir(table));
      return version;
    }
    if (errno != EEXIST && errno != ENOTEMPTY) {
      return absl::InternalError(fmt::format("cannot rename {} to {}: {}", build_dir.string(),
                                             target.string(), std::strerror(errno)));
    }
  }
  return absl::InternalError(
      fmt::format("cannot find a free version number for table '{}'", table));
}

absl::StatusOr<int> TableDirectory::RemoveOldVersions(std::string_view table, int keep) const {
  absl::StatusOr<int64_t> current = CurrentVersion(table);
  if (!current.ok()) return current.status();
  std::vector<int64_t> versions = ListVersions(table);
  int removed = 0;
  for (size_t i = 0; i + keep < versions.size(); ++i) {
    if (versions[i] == *current) continue;
    std::error_code ec;
    // Rename first so that a reader never opens a half-deleted version.
    const fs::path doomed = TableDir(table) / fmt::format(".deleting-{}", versions[i]);
    fs::rename(VersionDir(table, versions[i]), doomed, ec);
    if (!ec) fs::remove_all(doomed, ec);
    if (ec) {
      return absl::InternalError(
          fmt::format("cannot remove {}: {}", doomed.string(), ec.message()));
    }
    ++removed;
  }
  return removed;
}

}  // namespace strata::store
