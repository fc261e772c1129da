#include "api/http_compression.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "zlib.h"

namespace strata::api {
namespace {

using ::testing::HasSubstr;

std::string Text() {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "{\"data\":[1.0,2.0,3.0]}";
  return text;
}

// A raw deflate stream (no zlib header), as some clients send "deflate".
std::string RawDeflate(const std::string& text) {
  z_stream stream{};
  deflateInit2(&stream, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, text.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

TEST(HttpCompressionTest, GzipAndDeflateRoundTrip) {
  const std::string text = Text();
  for (ContentEncoding encoding : {ContentEncoding::kGzip, ContentEncoding::kDeflate}) {
    const std::string compressed = Compress(text, encoding);
    EXPECT_LT(compressed.size(), text.size() / 10);
    absl::StatusOr<std::string> inflated = Decompress(compressed, encoding, 1 << 20);
    ASSERT_TRUE(inflated.ok()) << inflated.status();
    EXPECT_EQ(*inflated, text);
  }
  EXPECT_EQ(static_cast<unsigned char>(Compress(text, ContentEncoding::kGzip)[0]), 0x1f);
}

TEST(HttpCompressionTest, DeflateAcceptsARawStream) {
  absl::StatusOr<std::string> inflated =
      Decompress(RawDeflate(Text()), ContentEncoding::kDeflate, 1 << 20);
  ASSERT_TRUE(inflated.ok()) << inflated.status();
  EXPECT_EQ(*inflated, Text());
}

TEST(HttpCompressionTest, CorruptTruncatedAndTrailingBodiesAreErrors) {
  const std::string gzip = Compress(Text(), ContentEncoding::kGzip);
  absl::StatusOr<std::string> corrupt =
      Decompress("definitely not gzip", ContentEncoding::kGzip, 1 << 20);
  EXPECT_EQ(corrupt.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(corrupt.status().message(), HasSubstr("not valid gzip data"));

  absl::StatusOr<std::string> truncated =
      Decompress(gzip.substr(0, gzip.size() / 2), ContentEncoding::kGzip, 1 << 20);
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(truncated.status().message(), HasSubstr("truncated"));

  absl::StatusOr<std::string> trailing =
      Decompress(gzip + "junk", ContentEncoding::kGzip, 1 << 20);
  EXPECT_THAT(trailing.status().message(), HasSubstr("bytes after the end"));
}

TEST(HttpCompressionTest, InflatingBeyondTheLimitIsRefused) {
  const std::string bomb = Compress(std::string(10 << 20, 'a'), ContentEncoding::kGzip);
  absl::StatusOr<std::string> inflated = Decompress(bomb, ContentEncoding::kGzip, 1 << 20);
  EXPECT_EQ(inflated.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(inflated.status().message(), HasSubstr("beyond the limit of 1048576 bytes"));
  EXPECT_TRUE(Decompress(bomb, ContentEncoding::kGzip, 10 << 20).ok());
}

TEST(HttpCompressionTest, ParsesContentEncoding) {
  EXPECT_EQ(*ParseContentEncoding(""), ContentEncoding::kIdentity);
  EXPECT_EQ(*ParseContentEncoding("identity"), ContentEncoding::kIdentity);
  EXPECT_EQ(*ParseContentEncoding(" GZIP "), ContentEncoding::kGzip);
  EXPECT_EQ(*ParseContentEncoding("deflate"), ContentEncoding::kDeflate);
  absl::StatusOr<ContentEncoding> br = ParseContentEncoding("br");
  EXPECT_EQ(br.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(br.status().message(), HasSubstr("Content-Encoding 'br' is not supported"));
  EXPECT_FALSE(ParseContentEncoding("gzip, deflate").ok());
}

TEST(HttpCompressionTest, NegotiatesFromAcceptEncoding) {
  EXPECT_EQ(NegotiateEncoding(""), ContentEncoding::kIdentity);
  EXPECT_EQ(NegotiateEncoding("identity"), ContentEncoding::kIdentity);
  EXPECT_EQ(NegotiateEncoding("gzip"), ContentEncoding::kGzip);
  EXPECT_EQ(NegotiateEncoding("deflate"), ContentEncoding::kDeflate);
  EXPECT_EQ(NegotiateEncoding("deflate, gzip;q=0.5"), ContentEncoding::kGzip);
  EXPECT_EQ(NegotiateEncoding("gzip;q=0, deflate"), ContentEncoding::kDeflate);
  EXPECT_EQ(NegotiateEncoding("gzip;q=0"), ContentEncoding::kIdentity);
  EXPECT_EQ(NegotiateEncoding("*"), ContentEncoding::kGzip);
  EXPECT_EQ(NegotiateEncoding("*, gzip;q=0"), ContentEncoding::kDeflate);
  EXPECT_EQ(NegotiateEncoding("br"), ContentEncoding::kIdentity);
}

}  // namespace
}  // namespace strata::api
