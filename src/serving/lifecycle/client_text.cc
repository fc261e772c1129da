#include "serving/lifecycle/client_text.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace strata::serving {
namespace fs = std::filesystem;
namespace {

// The ways `repository` may appear at the head of a path in a message: as
// given, absolute and canonical, each ending in '/', longest first.
std::vector<std::string> RepositoryPrefixes(const fs::path& repository) {
  std::error_code ec;
  std::set<std::string> forms = {repository.string(),
                                 fs::absolute(repository, ec).lexically_normal().string()};
  const fs::path canonical = fs::weakly_canonical(repository, ec);
  if (!ec) forms.insert(canonical.string());
  std::vector<std::string> prefixes;
  for (std::string form : forms) {
    if (form.empty()) continue;
    if (form.back() != '/') form += '/';
    prefixes.push_back(std::move(form));
  }
  std::sort(prefixes.begin(), prefixes.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return prefixes;
}

// Whether `c` may be part of a path name (so a prefix found right after it
// is the middle of another path, not the head of one).
bool PathChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
         c == '/';
}

}  // namespace

ClientText::ClientText(const fs::path& repository) : prefixes_(RepositoryPrefixes(repository)) {}

std::string ClientText::operator()(std::string_view text) const {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    bool removed = false;
    if (i == 0 || !PathChar(text[i - 1])) {
      for (const std::string& prefix : prefixes_) {
        if (text.substr(i).starts_with(prefix)) {
          i += prefix.size();
          removed = true;
          break;
        }
      }
    }
    if (!removed) out += text[i++];
  }
  return out;
}

}  // namespace strata::serving
