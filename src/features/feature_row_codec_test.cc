#include "features/feature_row_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace strata::features {
namespace {

const std::vector<Column> kColumns = {{"count", ValueType::kInt64},
                                      {"price", ValueType::kFloat64},
                                      {"category", ValueType::kString},
                                      {"note", ValueType::kString}};

TEST(FeatureRowCodecTest, RoundTripsEveryType) {
  const std::vector<FeatureValue> values = {std::numeric_limits<int64_t>::min(), -0.0,
                                            std::string("toys\0x", 6), std::string()};
  const std::string bytes = EncodeFeatureRow(kColumns, values, -5);
  std::vector<FeatureValue> decoded(kColumns.size());
  int64_t event_time = 0;
  ASSERT_TRUE(DecodeFeatureRow(bytes, kColumns, decoded, event_time).ok());
  EXPECT_EQ(event_time, -5);
  EXPECT_EQ(decoded, values);
  EXPECT_TRUE(std::signbit(std::get<double>(decoded[1])));
}

TEST(FeatureRowCodecTest, MissingAndNanSurvive) {
  const std::vector<FeatureValue> values = {std::monostate(),
                                            std::numeric_limits<double>::quiet_NaN(),
                                            std::monostate(), std::string("x")};
  const std::string bytes = EncodeFeatureRow(kColumns, values, 1700000000);
  std::vector<FeatureValue> decoded(kColumns.size(), FeatureValue(int64_t{9}));
  int64_t event_time = 0;
  ASSERT_TRUE(DecodeFeatureRow(bytes, kColumns, decoded, event_time).ok());
  EXPECT_EQ(event_time, 1700000000);
  EXPECT_TRUE(IsMissing(decoded[0]));
  EXPECT_TRUE(std::isnan(std::get<double>(decoded[1])));
  EXPECT_TRUE(IsMissing(decoded[2]));
}

TEST(FeatureRowCodecTest, LayoutIsTheDocumentedOne) {
  const std::vector<Column> columns = {{"a", ValueType::kInt64},
                                       {"b", ValueType::kFloat64},
                                       {"c", ValueType::kString},
                                       {"d", ValueType::kInt64}};
  const std::string bytes = EncodeFeatureRow(
      columns, std::vector<FeatureValue>{int64_t{258}, 1.0, std::string("hi"), std::monostate()},
      1);
  const std::string expected(
      "\x01\0\0\0\0\0\0\0"        // event time 1
      "\x01\x02\x01\0\0\0\0\0\0"  // INT64 258
      "\x02\0\0\0\0\0\0\xf0\x3f"  // FLOAT64 1.0
      "\x03\x02\0\0\0hi"          // STRING "hi"
      "\x00",                     // missing
      8 + 9 + 9 + 7 + 1);
  EXPECT_EQ(bytes, expected);
}

TEST(FeatureRowCodecTest, IntegersInADoubleColumnBecomeDoubles) {
  const std::string bytes = EncodeFeatureRow(
      kColumns, std::vector<FeatureValue>{int64_t{1}, int64_t{3}, std::monostate(), 2.0}, 0);
  std::vector<FeatureValue> decoded(kColumns.size());
  int64_t event_time = 0;
  ASSERT_TRUE(DecodeFeatureRow(bytes, kColumns, decoded, event_time).ok());
  EXPECT_EQ(decoded[1], FeatureValue(3.0));
  EXPECT_TRUE(IsMissing(decoded[3]));  // a double in a STRING column is not written
}

TEST(FeatureRowCodecTest, BadBytesAreDataLoss) {
  const std::string bytes = EncodeFeatureRow(
      kColumns, std::vector<FeatureValue>{int64_t{1}, 2.0, std::string("abc"), std::string("d")},
      7);
  std::vector<FeatureValue> decoded(kColumns.size());
  int64_t event_time = 0;
  for (size_t size = 0; size < bytes.size(); ++size) {
    const absl::Status status =
        DecodeFeatureRow(bytes.substr(0, size), kColumns, decoded, event_time);
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << size;
  }
  EXPECT_EQ(DecodeFeatureRow(bytes + "x", kColumns, decoded, event_time).code(),
            absl::StatusCode::kDataLoss);
  std::string wrong_tag = bytes;
  wrong_tag[8] = 2;  // the INT64 column tagged FLOAT64
  EXPECT_EQ(DecodeFeatureRow(wrong_tag, kColumns, decoded, event_time).code(),
            absl::StatusCode::kDataLoss);
  // Fewer columns than written: another definition.
  EXPECT_EQ(
      DecodeFeatureRow(bytes, std::span(kColumns).first(3), std::span(decoded).first(3), event_time)
          .code(),
      absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace strata::features
