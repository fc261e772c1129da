#include "api/auth/bearer_token.h"

namespace strata::api::auth {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

bool IsToken68(std::string_view token) {
  size_t i = 0;
  while (i < token.size() && IsTokenChar(token[i])) ++i;
  if (i == 0) return false;
  while (i < token.size() && token[i] == '=') ++i;
  return i == token.size();
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    const char y = (b[i] >= 'A' && b[i] <= 'Z') ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

}  // namespace

ParsedAuthorization ParseAuthorization(std::string_view header) {
  using Kind = ParsedAuthorization::Kind;
  while (!header.empty() && IsSpace(header.front())) header.remove_prefix(1);
  while (!header.empty() && IsSpace(header.back())) header.remove_suffix(1);
  if (header.empty()) return {Kind::kMissing, {}};
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size() || !EqualsIgnoringCase(header.substr(0, 6), kScheme) ||
      !IsSpace(header[kScheme.size()])) {
    return {Kind::kMalformed, {}};
  }
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && IsSpace(token.front())) token.remove_prefix(1);
  if (token.size() > kMaxTokenBytes || !IsToken68(token)) return {Kind::kMalformed, {}};
  return {Kind::kBearer, token};
}

}  // namespace strata::api::auth
