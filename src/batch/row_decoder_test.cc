#include "batch/row_decoder.h"

#include "gtest/gtest.h"

namespace strata::batch {
namespace {

runtime::ModelConfig Config() {
  runtime::ModelConfig config;
  config.name = "m";
  config.max_batch_size = 8;
  config.inputs = {{"features", core::DataType::kFp32, {-1, 2}}};
  config.outputs = {{"y", core::DataType::kFp32, {-1}}};
  return config;
}

std::vector<core::Tensor> Inputs() {
  return {core::Tensor::Zeros("features", core::DataType::kFp32, {2, 2})};
}

TEST(RowDecoderTest, CsvDefaultsToEveryNonKeyColumn) {
  store::KeySchema key = *store::KeySchema::Parse("id:INT64");
  auto decoder = RowDecoder::Create(InputFormat::kCsv, "x1,id,x2", key, Config(), {});
  ASSERT_TRUE(decoder.ok()) << decoder.status();
  std::vector<core::Tensor> inputs = Inputs();
  DecodedRow row;
  ASSERT_TRUE((*decoder)->Decode("1.5,42,-2", 1, inputs, row).ok());
  EXPECT_EQ(row.key_texts, std::vector<std::string>{"42"});
  EXPECT_EQ(inputs[0].As<float>()[2], 1.5f);
  EXPECT_EQ(inputs[0].As<float>()[3], -2.0f);
  absl::Status bad = (*decoder)->Decode("1.5,42", 0, inputs, row);
  EXPECT_NE(bad.message().find("2 fields, but the header has 3"), std::string_view::npos);
  bad = (*decoder)->Decode("1.5,4x,1", 0, inputs, row);
  EXPECT_NE(bad.message().find("'id' is INT64"), std::string_view::npos) << bad;
}

TEST(RowDecoderTest, ExplicitMappingPicksAndOrdersColumns) {
  store::KeySchema key = *store::KeySchema::Parse("id");
  InputMapping mapping;
  ASSERT_TRUE(ParseMappingFlag("features=b,a", mapping).ok());
  auto decoder = RowDecoder::Create(InputFormat::kCsv, "id,a,b,unused", key, Config(), mapping);
  ASSERT_TRUE(decoder.ok()) << decoder.status();
  std::vector<core::Tensor> inputs = Inputs();
  DecodedRow row;
  ASSERT_TRUE((*decoder)->Decode("\"x,y\",1,2,zzz", 0, inputs, row).ok());
  EXPECT_EQ(row.key_texts[0], "x,y");
  EXPECT_EQ(inputs[0].As<float>()[0], 2.0f);
  EXPECT_EQ(inputs[0].As<float>()[1], 1.0f);
}

TEST(RowDecoderTest, SetupErrorsNameTheProblem) {
  store::KeySchema key = *store::KeySchema::Parse("id");
  auto missing_key = RowDecoder::Create(InputFormat::kCsv, "a,b", key, Config(), {});
  EXPECT_NE(missing_key.status().message().find("key column 'id' is not in the CSV header"),
            std::string_view::npos);
  auto wrong_width = RowDecoder::Create(InputFormat::kCsv, "id,a,b,c", key, Config(), {});
  EXPECT_NE(wrong_width.status().message().find("takes 2 values per row but 3 columns"),
            std::string_view::npos)
      << wrong_width.status();
}

TEST(RowDecoderTest, JsonLinesTakeArraysOrNamedFields) {
  store::KeySchema key = *store::KeySchema::Parse("id:INT64");
  auto decoder = RowDecoder::Create(InputFormat::kJsonl, "", key, Config(), {});
  ASSERT_TRUE(decoder.ok());
  std::vector<core::Tensor> inputs = Inputs();
  DecodedRow row;
  ASSERT_TRUE((*decoder)->Decode(R"({"id": 5, "features": [3, 4]})", 0, inputs, row).ok());
  EXPECT_EQ(inputs[0].As<float>()[1], 4.0f);
  EXPECT_FALSE((*decoder)->Decode(R"({"id": 5, "features": [3]})", 0, inputs, row).ok());
  EXPECT_FALSE((*decoder)->Decode(R"({"id": 5)", 0, inputs, row).ok());
}

TEST(RowDecoderTest, JsonLinesAreValidatedAndTyped) {
  store::KeySchema key = *store::KeySchema::Parse("user:BYTES,day:INT64");
  runtime::ModelConfig config = Config();
  config.inputs = {{"features", core::DataType::kFp32, {-1, 2}},
                   {"count", core::DataType::kInt8, {-1}},
                   {"flag", core::DataType::kBool, {-1}}};
  auto decoder = RowDecoder::Create(InputFormat::kJsonl, "", key, config, {});
  ASSERT_TRUE(decoder.ok()) << decoder.status();
  std::vector<core::Tensor> inputs = {
      core::Tensor::Zeros("features", core::DataType::kFp32, {2, 2}),
      core::Tensor::Zeros("count", core::DataType::kInt8, {2}),
      core::Tensor::Zeros("flag", core::DataType::kBool, {2})};
  DecodedRow row;
  absl::Status ok = (*decoder)->Decode(
      R"({"user": "a \"q\" b", "day": 7, "features": [1.25, -2e3], "count": -5, "flag": true})", 1,
      inputs, row);
  ASSERT_TRUE(ok.ok()) << ok;
  EXPECT_EQ(row.key_texts, (std::vector<std::string>{"a \"q\" b", "7"}));
  EXPECT_EQ(inputs[0].As<float>()[2], 1.25f);
  EXPECT_EQ(inputs[0].As<float>()[3], -2000.0f);
  EXPECT_EQ(inputs[1].As<int8_t>()[1], -5);
  EXPECT_EQ(inputs[2].data[1], 1);
  auto fails_with = [&](std::string_view line, std::string_view message) {
    absl::Status s = (*decoder)->Decode(line, 0, inputs, row);
    EXPECT_NE(std::string(s.message()).find(message), std::string::npos) << line << " -> " << s;
  };
  // An INT8 out of range, a fraction for an integer, a string for a number.
  fails_with(R"({"user":"u","day":1,"features":[1,2],"count":300,"flag":0})",
             "field 'count': 300 is out of range for INT8");
  fails_with(R"({"user":"u","day":1,"features":[1,2],"count":1.5,"flag":0})",
             "1.5 is not an integer");
  fails_with(R"({"user":"u","day":1,"features":[1,"x"],"count":1,"flag":0})",
             "field 'features': \"x\" is not a number");
  fails_with(R"({"user":"u","day":1,"features":[1,2],"count":1,"flag":2})", "is not a BOOL");
  // Malformed JSON anywhere on the line, even after every needed field.
  fails_with(R"({"user":"u","day":1,"features":[1,2],"count":1,"flag":0,"x":})",
             "not a JSON object");
  fails_with(R"([1, 2])", "not a JSON object");
  fails_with(R"({"day":1,"features":[1,2],"count":1,"flag":0})",
             "key column 'user' is missing or not a value");
  fails_with(R"({"user":[1],"day":1,"features":[1,2],"count":1,"flag":0})",
             "key column 'user' is missing or not a value");
}

}  // namespace
}  // namespace strata::batch
