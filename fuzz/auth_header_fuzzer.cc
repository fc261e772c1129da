// Fuzzes the `Authorization` header parser (api/auth/bearer_token.h): any
// bytes are refused or read as a token that lies inside the header, holds
// only token68 characters and is no longer than the limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/auth/bearer_token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view header(reinterpret_cast<const char*>(data), size);
  const strata::api::auth::ParsedAuthorization parsed =
      strata::api::auth::ParseAuthorization(header);
  if (parsed.kind != strata::api::auth::ParsedAuthorization::Kind::kBearer) return 0;
  const std::string_view token = parsed.token;
  if (token.empty() || token.size() > strata::api::auth::kMaxTokenBytes ||
      token.data() < header.data() || token.data() + token.size() > header.data() + header.size()) {
    std::abort();
  }
  for (char c : token) {
    if (c == ' ' || c == '\t' || c == '\0' || static_cast<unsigned char>(c) >= 0x80) std::abort();
  }
  return 0;
}
