#include "api/http_response_head.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace strata::api {
namespace {

TEST(WriteResponseHead, WritesStatusServerTypeAndLength) {
  std::string out;
  WriteResponseHead({.status = 200, .content_type = "application/json", .content_length = 301},
                    out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nServer: strata\r\nContent-Type: application/json\r\n"
            "Content-Length: 301\r\n\r\n");
}

TEST(WriteResponseHead, ClosingAnswerSaysConnectionClose) {
  std::string out;
  WriteResponseHead({.status = 413, .content_type = "application/json", .keep_alive = false}, out);
  EXPECT_EQ(out,
            "HTTP/1.1 413 Payload Too Large\r\nServer: strata\r\n"
            "Content-Type: application/json\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
}

TEST(WriteResponseHead, WritesFieldsInOrderAndALaterSameNameReplaces) {
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"Retry-After", "1"}, {"X-RateLimit-Limit", "10"}, {"retry-after", "5"}};
  std::string out;
  WriteResponseHead(
      {.status = 429, .content_type = "application/json", .fields = fields, .content_length = 2},
      out);
  EXPECT_EQ(out,
            "HTTP/1.1 429 Too Many Requests\r\nServer: strata\r\nContent-Type: application/json\r\n"
            "X-RateLimit-Limit: 10\r\nretry-after: 5\r\nContent-Length: 2\r\n\r\n");
}

TEST(WriteResponseHead, ReplacesThePreviousHeadAndKeepsCapacity) {
  std::string out(500, 'x');
  const size_t capacity = out.capacity();
  WriteResponseHead({.status = 404, .content_type = "text/plain"}, out);
  EXPECT_EQ(out.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
  EXPECT_EQ(out.capacity(), capacity);
}

TEST(WriteResponseHead, UnknownStatusKeepsItsNumber) {
  std::string out;
  WriteResponseHead({.status = 599, .content_type = "application/json"}, out);
  EXPECT_EQ(out.rfind("HTTP/1.1 599 ", 0), 0u);
}

}  // namespace
}  // namespace strata::api
