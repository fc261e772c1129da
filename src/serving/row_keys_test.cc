#include "serving/row_keys.h"

#include <string>
#include <vector>

#include "advisor/key_log_record.h"
#include "core/fingerprint.h"
#include "gtest/gtest.h"
#include "serving/key_log.h"

namespace strata::serving {
namespace {

core::InferRequest Keys(const std::vector<std::string>& names, int64_t first_id) {
  core::InferRequest r;
  core::Tensor name{"name", core::DataType::kBytes, {static_cast<int64_t>(names.size())}, {}};
  for (const std::string& n : names) core::AppendBytesElement(n, name.data);
  core::Tensor id{"id", core::DataType::kInt64, {static_cast<int64_t>(names.size())}, {}};
  for (size_t i = 0; i < names.size(); ++i) {
    const int64_t v = first_id + static_cast<int64_t>(i);
    const auto* bytes = reinterpret_cast<const uint8_t*>(&v);
    id.data.insert(id.data.end(), bytes, bytes + sizeof v);
  }
  r.inputs = {name, id};
  return r;
}

TEST(RowKeyTextsTest, ShortKeysAreTheirJsonText) {
  const std::vector<std::string> keys = RowKeyTexts({"id", "name"}, Keys({"a\"b", "c"}, 7));
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0], R"({"id":7,"name":"a\"b"})");
  EXPECT_EQ(keys[1], R"({"id":8,"name":"c"})");
}

// Issue 11 item 8: a 1 MB BYTES key was kept whole by the sketches and
// written whole to the key log (900 requests made a 1 GB log).
TEST(RowKeyTextsTest, LongKeysBecomeTheirMarker) {
  const std::string megabyte(1 << 20, 'x');
  const std::string other = megabyte + "y";
  const std::vector<std::string> keys =
      RowKeyTexts({"name"}, Keys({megabyte, other, megabyte, "short"}, 0));
  ASSERT_EQ(keys.size(), 4u);
  EXPECT_EQ(keys[0].size(), core::kKeyMarkerBytes);
  EXPECT_TRUE(core::IsKeyFingerprintMarker(keys[0])) << keys[0];
  EXPECT_EQ(keys[0], core::KeyFingerprintMarker("{\"name\":\"" + megabyte + "\"}"));
  EXPECT_NE(keys[0], keys[1]);
  EXPECT_EQ(keys[0], keys[2]);
  EXPECT_EQ(keys[3], R"({"name":"short"})");
}

// A plan's keys are canonical bytes; their texts are the ones RowKeyTexts
// makes from the request's tensors, long keys included.
TEST(KeyTextsOfTest, CanonicalKeysGiveTheSameTextsAsTheTensors) {
  const std::string long_name(200, 'x');
  const core::InferRequest request = Keys({"a\"b", "c", long_name}, -7);
  const store::KeySchema schema({{"id", core::DataType::kInt64}, {"name", core::DataType::kBytes}});
  const core::Tensor* columns[] = {&request.inputs[1], &request.inputs[0]};
  absl::StatusOr<std::vector<std::string>> keys = schema.EncodeTensors(columns);
  ASSERT_TRUE(keys.ok()) << keys.status();
  const std::vector<std::string> texts = KeyTextsOf(schema, *keys);
  EXPECT_EQ(texts, RowKeyTexts({"id", "name"}, request));
  ASSERT_EQ(texts.size(), 3u);
  EXPECT_EQ(texts[0], R"({"id":-7,"name":"a\"b"})");
  EXPECT_TRUE(core::IsKeyFingerprintMarker(texts[2]));
  EXPECT_TRUE(KeyTextsOf(schema, {"short"}).empty());  // does not fit the columns
}

TEST(KeyLogTest, LongKeysAreLoggedAsTheirMarker) {
  auto log = KeyLog::Open({.path = "/dev/null", .sample = 1, .hash = false});
  ASSERT_TRUE(log.ok()) << log.status();
  const std::string megabyte(1 << 20, 'x');
  const std::vector<std::string> lines = (*log)->Lines("ep", {"name"}, Keys({megabyte}, 0), 2);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_LT(lines[0].size(), 128u) << lines[0];
  // `strata advise --key-log` reads it back as the key the live sketch counts.
  absl::StatusOr<advisor::KeyLogRecord> record = advisor::ParseKeyLogLine(lines[0]);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_FALSE(record->hashed);
  EXPECT_EQ(record->key, RowKeyTexts({"name"}, Keys({megabyte}, 0))[0]);
  // Short keys are logged as they are.
  EXPECT_EQ((*log)->Lines("ep", {"name"}, Keys({"a"}, 0), 2)[0],
            "{\"ts\":2.000,\"endpoint\":\"ep\",\"key\":{\"name\":\"a\"}}\n");
}

}  // namespace
}  // namespace strata::serving
