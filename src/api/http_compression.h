// HTTP body compression for the REST frontend: `Content-Encoding: gzip` or
// `deflate` request bodies are inflated (zlib), and responses are
// compressed when the client's `Accept-Encoding` allows it. Pure functions;
// thread-safe.
#ifndef STRATA_API_HTTP_COMPRESSION_H_
#define STRATA_API_HTTP_COMPRESSION_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "api/body_budget.h"

namespace strata::api {

enum class ContentEncoding { kIdentity, kGzip, kDeflate };

// "identity", "gzip" or "deflate".
std::string_view ContentEncodingName(ContentEncoding encoding);

// Parses a Content-Encoding header ("" means identity). UNIMPLEMENTED for a
// coding strata cannot decode (br, zstd, several codings): the caller
// answers 415.
absl::StatusOr<ContentEncoding> ParseContentEncoding(std::string_view header);

// Inflates `body`. INVALID_ARGUMENT when it is corrupt or truncated;
// RESOURCE_EXHAUSTED when it would inflate beyond `max_bytes`. With a
// `reservation`, the inflated bytes are taken from its budget as they grow
// and stay taken when the call succeeds; UNAVAILABLE when the budget cannot
// cover them (the caller answers 503: retry later).
absl::StatusOr<std::string> Decompress(std::string_view body, ContentEncoding encoding,
                                       size_t max_bytes, BodyReservation* reservation = nullptr);

// The coding to answer with, given the request's Accept-Encoding header:
// gzip, else deflate, when the client accepts it (q > 0); else identity.
ContentEncoding NegotiateEncoding(std::string_view accept_encoding);

// Compresses `body` with `encoding` (gzip or deflate; identity copies).
std::string Compress(std::string_view body, ContentEncoding encoding);

// Responses smaller than this are sent uncompressed: compressing them
// costs more time than it saves bytes.
inline constexpr size_t kMinCompressedResponseBytes = 1024;

}  // namespace strata::api

#endif  // STRATA_API_HTTP_COMPRESSION_H_
