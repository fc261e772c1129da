// WriteResponseHead writes the status line and header fields of one HTTP/1.1
// answer, as the REST server sends them, into a string the connection keeps
// from one answer to the next: the server then sends head and body in one
// gathered write, without building a Beast message (one allocation per
// field) or running its serializer. Pure; thread-compatible.
#ifndef STRATA_API_HTTP_RESPONSE_HEAD_H_
#define STRATA_API_HTTP_RESPONSE_HEAD_H_

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace strata::api {

struct ResponseHead {
  int status = 200;
  std::string_view content_type;
  // The reply's own fields, in order; a later field of the same name
  // (compared without case) replaces an earlier one.
  std::span<const std::pair<std::string, std::string>> fields = {};
  size_t content_length = 0;
  // False: "Connection: close" (the connection ends after this answer).
  bool keep_alive = true;
};

// Replaces `out` with "HTTP/1.1 <status> <reason>", Server, Content-Type,
// the fields, Connection (when not kept alive), Content-Length, and the blank
// line. `out` keeps its capacity.
void WriteResponseHead(const ResponseHead& head, std::string& out);

}  // namespace strata::api

#endif  // STRATA_API_HTTP_RESPONSE_HEAD_H_
