// ClientText rewrites a message for clients: every path in it that starts
// with the repository's own path (as given, absolute or canonical) is made
// relative to the repository (models/<name>/<version>/...), so answers do
// not reveal where the server keeps its files; the log keeps the full text.
// Immutable; thread-safe.
#ifndef STRATA_SERVING_LIFECYCLE_CLIENT_TEXT_H_
#define STRATA_SERVING_LIFECYCLE_CLIENT_TEXT_H_

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace strata::serving {

class ClientText {
 public:
  explicit ClientText(const std::filesystem::path& repository);

  // `text` with the repository's path taken out of every path in it.
  std::string operator()(std::string_view text) const;

 private:
  // The repository's path in each form, each ending in '/', longest first.
  std::vector<std::string> prefixes_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_LIFECYCLE_CLIENT_TEXT_H_
