// VersionScanner finds the complete version directories of one model.
// Directories whose names are not positive integers (including hidden
// ".5.tmp" staging directories) are ignored, so publishing by renaming a
// finished directory into place is atomic. A version directory is complete
// when it holds the model's `version_marker` file, if one is configured;
// otherwise once its contents (names, sizes, modification times) are the
// same on two consecutive scans, i.e. it has stopped changing for one poll
// interval. On the first scan (server start) every present version counts
// as complete. Not thread-safe: one lifecycle thread owns it.
#ifndef STRATA_SERVING_VERSION_SCANNER_H_
#define STRATA_SERVING_VERSION_SCANNER_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace strata::serving {

class VersionScanner {
 public:
  // Ascending list of complete versions in `model_dir`.
  std::vector<int64_t> CompleteVersions(const std::filesystem::path& model_dir,
                                        const std::string& marker);

  // The last fingerprint seen for `version` (empty if never seen): changes
  // whenever anything in the directory changes.
  std::string Fingerprint(int64_t version) const;

 private:
  bool first_scan_ = true;
  std::map<int64_t, std::string> fingerprints_;
};

// Integer-named subdirectories of `model_dir`, ascending.
std::vector<int64_t> ListVersionDirectories(const std::filesystem::path& model_dir);

}  // namespace strata::serving

#endif  // STRATA_SERVING_VERSION_SCANNER_H_
