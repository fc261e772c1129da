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

  absl::StatusOr<std::string> trailing = Decompress(gzip + "junk", ContentEncoding::kGzip, 1 << 20);
  EXPECT_THAT(trailing.status().message(), HasSubstr("bytes after the end"));
}

TEST(HttpCompressionTest, InflatingBeyondTheLimitIsRefused) {
  const std::string bomb = Compress(std::string(10 << 20, 'a'), ContentEncoding::kGzip);
  absl::StatusOr<std::string> inflated = Decompress(bomb, ContentEncoding::kGzip, 1 << 20);
  EXPECT_EQ(inflated.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(inflated.status().message(), HasSubstr("beyond the limit of 1048576 bytes"));
  EXPECT_TRUE(Decompress(bomb, ContentEncoding::kGzip, 10 << 20).ok());
}

TEST(HttpCompressionTest, InflatedBytesAreTakenFromTheBodyBudget) {
  const std::string text(3 << 20, 'a');
  BodyBudget budget(8 << 20);
  for (ContentEncoding encoding : {ContentEncoding::kGzip, ContentEncoding::kDeflate}) {
    BodyReservation reservation(budget);
    ASSERT_TRUE(reservation.GrowTo(1000));  // the compressed body, buffered
    absl::StatusOr<std::string> inflated =
        Decompress(Compress(text, encoding), encoding, 16 << 20, &reservation);
    ASSERT_TRUE(inflated.ok()) << inflated.status();
    EXPECT_EQ(*inflated, text);
    EXPECT_GE(reservation.bytes(), 1000 + inflated->capacity());
    // gzip names its size, so it inflates into one exact allocation; a
    // deflate stream grows by doubling.
    EXPECT_LE(reservation.bytes(),
              1000 + (encoding == ContentEncoding::kGzip ? text.size() + 1 : 2 * text.size()));
  }
}

TEST(HttpCompressionTest, InflatingBeyondTheBodyBudgetIsUnavailable) {
  BodyBudget budget(4 << 20);
  BodyReservation other(budget), reservation(budget);
  ASSERT_TRUE(other.GrowTo(2 << 20));
  ASSERT_TRUE(reservation.GrowTo(1000));
  for (ContentEncoding encoding : {ContentEncoding::kGzip, ContentEncoding::kDeflate}) {
    absl::StatusOr<std::string> inflated =
        Decompress(Compress(std::string(3 << 20, 'a'), encoding), encoding, 16 << 20, &reservation);
    EXPECT_EQ(inflated.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(inflated.status().message(),
                HasSubstr("--body-memory-budget 4194304 bytes); retry later"));
    EXPECT_EQ(reservation.bytes(), 1000u);  // what it held before
  }
  // A gzip body that lies about its size still stops at the budget.
  std::string liar = Compress(std::string(3 << 20, 'a'), ContentEncoding::kGzip);
  liar.replace(liar.size() - 4, 4, std::string("\x10\0\0\0", 4));
  EXPECT_EQ(Decompress(liar, ContentEncoding::kGzip, 16 << 20, &reservation).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(budget.used(), (2u << 20) + 1000);
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
