#include "store/key_schema.h"

#include "gtest/gtest.h"

namespace strata::store {
namespace {

using core::DataType;

core::Tensor Ints(std::string name, std::vector<int64_t> values) {
  core::Tensor t =
      core::Tensor::Zeros(std::move(name), DataType::kInt64, {static_cast<int64_t>(values.size())});
  std::copy(values.begin(), values.end(), t.MutableAs<int64_t>().begin());
  return t;
}

core::Tensor Strings(std::string name, std::vector<std::string> values) {
  core::Tensor t{std::move(name), DataType::kBytes, {static_cast<int64_t>(values.size())}, {}};
  for (const std::string& v : values) core::AppendBytesElement(v, t.data);
  return t;
}

TEST(KeySchemaTest, ParsesColumnsAndTypes) {
  absl::StatusOr<KeySchema> schema = KeySchema::Parse("store_id:INT64, date");
  ASSERT_TRUE(schema.ok()) << schema.status();
  ASSERT_EQ(schema->size(), 2u);
  EXPECT_EQ(schema->columns()[0].dtype, DataType::kInt64);
  EXPECT_EQ(schema->columns()[1].dtype, DataType::kBytes);
  EXPECT_EQ(schema->ToString(), "store_id:INT64,date:BYTES");
}

TEST(KeySchemaTest, RejectsBadSpecs) {
  EXPECT_FALSE(KeySchema::Parse("").ok());
  EXPECT_FALSE(KeySchema::Parse("a,a").ok());
  EXPECT_FALSE(KeySchema::Parse("a:FP32").ok());
}

TEST(KeySchemaTest, TextAndTensorsEncodeTheSameKey) {
  KeySchema schema = *KeySchema::Parse("store_id:INT64,date");
  std::string from_text;
  ASSERT_TRUE(schema.AppendText(0, "17", from_text).ok());
  ASSERT_TRUE(schema.AppendText(1, "2026-11-23", from_text).ok());
  core::Tensor ids = Ints("store_id", {17, -3});
  core::Tensor dates = Strings("date", {"2026-11-23", ""});
  const core::Tensor* columns[] = {&ids, &dates};
  absl::StatusOr<std::vector<std::string>> keys = schema.EncodeTensors(columns);
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0], from_text);
  absl::StatusOr<std::vector<KeyValue>> decoded = schema.Decode((*keys)[1]);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::get<int64_t>((*decoded)[0]), -3);
  EXPECT_EQ(std::get<std::string>((*decoded)[1]), "");
}

TEST(KeySchemaTest, IntegerKeysAcceptAnyIntegerType) {
  KeySchema schema = *KeySchema::Parse("id:INT64");
  core::Tensor small = core::Tensor::Zeros("id", DataType::kInt32, {1});
  small.MutableAs<int32_t>()[0] = 5;
  core::Tensor wide = Ints("id", {5});
  const core::Tensor* a[] = {&small};
  const core::Tensor* b[] = {&wide};
  EXPECT_EQ(*schema.EncodeTensors(a), *schema.EncodeTensors(b));
}

TEST(KeySchemaTest, IntegerOrderIsByteOrder) {
  std::string minus, zero, plus;
  KeySchema::AppendInt(-1, minus);
  KeySchema::AppendInt(0, zero);
  KeySchema::AppendInt(1, plus);
  EXPECT_LT(minus, zero);
  EXPECT_LT(zero, plus);
}

TEST(KeySchemaTest, WrongTypesAreClearErrors) {
  KeySchema schema = *KeySchema::Parse("store_id:INT64,date");
  core::Tensor floats = core::Tensor::Zeros("store_id", DataType::kFp32, {1});
  core::Tensor dates = Strings("date", {"x"});
  const core::Tensor* columns[] = {&floats, &dates};
  absl::StatusOr<std::vector<std::string>> keys = schema.EncodeTensors(columns);
  ASSERT_FALSE(keys.ok());
  EXPECT_NE(keys.status().message().find("'store_id' must be an integer"), std::string_view::npos)
      << keys.status();
  core::Tensor ids = Ints("store_id", {1});
  core::Tensor int_dates = Ints("date", {1});
  const core::Tensor* swapped[] = {&ids, &int_dates};
  EXPECT_FALSE(schema.EncodeTensors(swapped).ok());
  std::string key;
  EXPECT_FALSE(schema.AppendText(0, "12x", key).ok());
}

}  // namespace
}  // namespace strata::store
