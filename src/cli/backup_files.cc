#include "cli/backup_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "cli/sha256.h"
#include "fmt/format.h"

namespace strata::cli {
namespace fs = std::filesystem;
namespace {

absl::Status Errno(std::string_view what, const fs::path& path) {
  return absl::InternalError(fmt::format("{} {}: {}", what, path.string(), std::strerror(errno)));
}

// Closes the descriptor when it goes out of scope.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

absl::Status WriteAll(int fd, const char* data, size_t size, const fs::path& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("cannot write", path);
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

CopyProgress::CopyProgress(std::string what, ProgressMode mode, uint64_t total_bytes)
    : what_(std::move(what)),
      enabled_(mode == ProgressMode::kLines ||
               (mode == ProgressMode::kAuto && ::isatty(STDERR_FILENO))),
      total_(total_bytes),
      last_(std::chrono::steady_clock::now()) {}

void CopyProgress::Add(uint64_t bytes, std::string_view item) {
  done_ += bytes;
  const auto now = std::chrono::steady_clock::now();
  if (!enabled_ || now - last_ < std::chrono::seconds(2)) return;
  last_ = now;
  const double share = total_ > 0 ? 100.0 * static_cast<double>(done_) / total_ : 100.0;
  fmt::print(stderr, "{}: {:.0f}% ({} of {}) {}\n", what_, std::min(share, 100.0),
             HumanBytes(done_), HumanBytes(total_), item);
}

void CopyProgress::Note(std::string_view line) {
  if (enabled_) fmt::print(stderr, "{}: {}\n", what_, line);
}

std::string HumanBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

std::vector<std::string> ListFiles(const fs::path& dir, std::string_view exclude) {
  std::vector<std::string> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const std::string rel = fs::relative(it->path(), dir).generic_string();
    const bool hidden = it->path().filename().string().starts_with(".");
    if (hidden || (!exclude.empty() && rel == exclude)) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) files.push_back(rel);
  }
  std::sort(files.begin(), files.end());
  return files;
}

absl::StatusOr<CopiedFile> CopyHashed(const fs::path& from, const fs::path& to,
                                      CopyProgress* progress) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  Fd in{::open(from.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) return Errno("cannot read", from);
  Fd out{::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
  if (out.fd < 0) return Errno("cannot create", to);
  Sha256 sha;
  CopiedFile copied;
  std::vector<char> buffer(1 << 20);
  for (;;) {
    const ssize_t n = ::read(in.fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot read", from);
    if (n == 0) break;
    sha.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
    if (absl::Status s = WriteAll(out.fd, buffer.data(), static_cast<size_t>(n), to); !s.ok()) {
      return s;
    }
    copied.size += static_cast<uint64_t>(n);
    if (progress != nullptr) progress->Add(static_cast<uint64_t>(n), from.filename().string());
  }
  if (::fsync(out.fd) != 0) return Errno("cannot sync", to);
  copied.sha256 = sha.HexDigest();
  return copied;
}

std::string RelativeInside(const fs::path& path, const fs::path& root) {
  std::error_code ec;
  const fs::path a = fs::absolute(path, ec).lexically_normal();
  const fs::path b = fs::absolute(root, ec).lexically_normal();
  const std::string rel = a.lexically_relative(b).generic_string();
  return rel.empty() || rel == "." || rel.starts_with("..") ? "" : rel;
}

absl::Status WriteSynced(const fs::path& path, std::string_view data) {
  Fd out{::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
  if (out.fd < 0) return Errno("cannot create", path);
  if (absl::Status s = WriteAll(out.fd, data.data(), data.size(), path); !s.ok()) return s;
  if (::fsync(out.fd) != 0) return Errno("cannot sync", path);
  return absl::OkStatus();
}

void SyncDirectory(const fs::path& dir) {
  Fd fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (fd.fd >= 0) ::fsync(fd.fd);
}

}  // namespace strata::cli
