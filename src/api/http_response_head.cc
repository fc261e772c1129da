#include "api/http_response_head.h"

#include <charconv>
#include <ostream>  // boost/beast/http/status.hpp needs it

#include "absl/strings/match.h"
#include "boost/beast/http/status.hpp"

namespace strata::api {
namespace {

namespace http = boost::beast::http;

void AppendField(std::string_view name, std::string_view value, std::string& out) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

void AppendNumber(size_t value, std::string& out) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof(digits), value).ptr;
  out.append(digits, end);
}

// True when a field after `index` has the same name: that one is written.
bool ReplacedLater(std::span<const std::pair<std::string, std::string>> fields, size_t index) {
  for (size_t later = index + 1; later < fields.size(); ++later) {
    if (absl::EqualsIgnoreCase(fields[later].first, fields[index].first)) return true;
  }
  return false;
}

}  // namespace

void WriteResponseHead(const ResponseHead& head, std::string& out) {
  out.clear();
  out.append("HTTP/1.1 ");
  AppendNumber(static_cast<size_t>(head.status), out);
  out.push_back(' ');
  const auto reason =
      http::obsolete_reason(http::int_to_status(static_cast<unsigned>(head.status)));
  out.append(reason.data(), reason.size());
  out.append("\r\n");
  AppendField("Server", "strata", out);
  AppendField("Content-Type", head.content_type, out);
  for (size_t i = 0; i < head.fields.size(); ++i) {
    if (!ReplacedLater(head.fields, i))
      AppendField(head.fields[i].first, head.fields[i].second, out);
  }
  if (!head.keep_alive) AppendField("Connection", "close", out);
  out.append("Content-Length: ");
  AppendNumber(head.content_length, out);
  out.append("\r\n\r\n");
}

}  // namespace strata::api
