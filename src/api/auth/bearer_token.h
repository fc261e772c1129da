// ParseAuthorization reads an `Authorization` header value (RFC 6750,
// section 2.1): the scheme `Bearer` (any case), one or more spaces, and a
// token68 credential. Pure and thread-safe; the fuzz target
// fuzz/auth_header_fuzzer.cc feeds it arbitrary bytes.
#ifndef STRATA_API_AUTH_BEARER_TOKEN_H_
#define STRATA_API_AUTH_BEARER_TOKEN_H_

#include <cstddef>
#include <string_view>

namespace strata::api::auth {

// Longer credentials are refused unread (strata's secrets are 40 bytes).
inline constexpr size_t kMaxTokenBytes = 512;

struct ParsedAuthorization {
  enum class Kind {
    kMissing,    // no header, or only white space
    kMalformed,  // another scheme, no token, or bytes a token cannot hold
    kBearer,
  };
  Kind kind = Kind::kMissing;
  std::string_view token;  // kBearer: the credential, a view into the header
};

ParsedAuthorization ParseAuthorization(std::string_view header);

}  // namespace strata::api::auth

#endif  // STRATA_API_AUTH_BEARER_TOKEN_H_
