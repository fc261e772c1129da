#include "serving/version_scanner.h"

#include <algorithm>
#include <charconv>

#include "fmt/format.h"

namespace strata::serving {
namespace fs = std::filesystem;
namespace {

std::string FingerprintOf(const fs::path& dir) {
  std::vector<std::string> entries;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code stat_ec;
    const auto size = it->is_regular_file(stat_ec) ? it->file_size(stat_ec) : 0;
    const auto mtime = it->last_write_time(stat_ec).time_since_epoch().count();
    entries.push_back(fmt::format("{}:{}:{}", fs::relative(it->path(), dir).string(), size, mtime));
  }
  std::sort(entries.begin(), entries.end());
  return fmt::format("{}", fmt::join(entries, "|"));
}

}  // namespace

std::vector<int64_t> ListVersionDirectories(const fs::path& model_dir) {
  std::vector<int64_t> versions;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(model_dir, ec)) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    int64_t version = 0;
    auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), version);
    if (err == std::errc() && end == name.data() + name.size() && version > 0) {
      versions.push_back(version);
    }
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

std::vector<int64_t> VersionScanner::CompleteVersions(const fs::path& model_dir,
                                                      const std::string& marker) {
  std::vector<int64_t> complete;
  std::map<int64_t, std::string> seen;
  for (int64_t version : ListVersionDirectories(model_dir)) {
    const fs::path dir = model_dir / std::to_string(version);
    std::string fingerprint = FingerprintOf(dir);
    bool done;
    if (!marker.empty()) {
      std::error_code ec;
      done = fs::exists(dir / marker, ec);
    } else {
      auto previous = fingerprints_.find(version);
      done = first_scan_ || (previous != fingerprints_.end() && previous->second == fingerprint);
    }
    if (done) complete.push_back(version);
    seen[version] = std::move(fingerprint);
  }
  fingerprints_ = std::move(seen);
  first_scan_ = false;
  return complete;
}

std::string VersionScanner::Fingerprint(int64_t version) const {
  auto it = fingerprints_.find(version);
  return it == fingerprints_.end() ? std::string() : it->second;
}

}  // namespace strata::serving
