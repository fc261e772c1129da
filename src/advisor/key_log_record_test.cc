#include "advisor/key_log_record.h"

#include "gtest/gtest.h"

namespace strata::advisor {
namespace {

TEST(KeyLogRecordTest, ReadsKeyValuesAsTheirJsonText) {
  absl::StatusOr<KeyLogRecord> r = ParseKeyLogLine(
      R"({"ts":1718000000.125,"endpoint":"purchase","key":{"user_id":7,"name":"a}\"b"}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(r->ts, 1718000000.125);
  EXPECT_EQ(r->endpoint, "purchase");
  EXPECT_EQ(r->key, R"({"user_id":7,"name":"a}\"b"})");
  EXPECT_FALSE(r->hashed);
  EXPECT_EQ(r->sample, 1);
}

TEST(KeyLogRecordTest, ReadsHashedKeysAndSampling) {
  absl::StatusOr<KeyLogRecord> r = ParseKeyLogLine(
      R"( {"ts": 5, "endpoint": "e", "key_hash": "5f0c6b1e9a3d2c71", "sample": 0.25} )");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->key, "5f0c6b1e9a3d2c71");
  EXPECT_TRUE(r->hashed);
  EXPECT_EQ(r->sample, 0.25);
}

TEST(KeyLogRecordTest, UnknownFieldsAreIgnored) {
  absl::StatusOr<KeyLogRecord> r =
      ParseKeyLogLine(R"({"key":[1,2,[3]],"layer":"cache","extra":{"a":[true,null]}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->key, "[1,2,[3]]");
}

TEST(KeyLogRecordTest, RejectsWhatIsNotARecord) {
  for (const char* line :
       {"", "[]", R"({"ts":1})", R"({"key":{"a":1})", R"({"key":1} trailing)",
        R"({"key":1,"ts":"x"})", R"({"key":1,"sample":0})", R"({"key_hash":5})"}) {
    EXPECT_FALSE(ParseKeyLogLine(line).ok()) << line;
  }
}

}  // namespace
}  // namespace strata::advisor
