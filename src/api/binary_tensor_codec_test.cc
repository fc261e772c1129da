#include "api/binary_tensor_codec.h"

#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Blob(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

// A body of `json` followed by `blobs`, and its header length as text.
std::pair<std::string, std::string> Body(const std::string& json, const std::string& blobs) {
  return {json + blobs, std::to_string(json.size())};
}

absl::Status DecodeError(const std::string& body, const std::string& length) {
  absl::StatusOr<core::InferRequest> decoded = DecodeBinaryInferRequest(body, length);
  return decoded.ok() ? absl::OkStatus() : decoded.status();
}

TEST(BinaryTensorCodecTest, DecodesBinaryAndJsonInputsInOrder) {
  std::string bytes;
  bytes.append(std::string("\x02\x00\x00\x00hi", 6));
  bytes.append(std::string("\x00\x00\x00\x00", 4));  // an empty element
  const auto [body, length] =
      Body(R"({"inputs":[)"
           R"({"name":"a","datatype":"FP32","shape":[1,2],"parameters":{"binary_data_size":8}},)"
           R"({"name":"j","datatype":"INT32","shape":[1],"data":[7]},)"
           R"({"name":"h","datatype":"FP16","shape":[1],"parameters":{"binary_data_size":2}},)"
           R"({"name":"s","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":10}}]})",
           Blob({1.5f, -2.0f}) + std::string("\x00\x3c", 2) + bytes);
  absl::StatusOr<core::InferRequest> decoded = DecodeBinaryInferRequest(body, length);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->inputs.size(), 4u);
  EXPECT_THAT(decoded->inputs[0].As<float>(), ElementsAre(1.5f, -2.0f));
  EXPECT_THAT(decoded->inputs[1].As<int32_t>(), ElementsAre(7));
  EXPECT_THAT(decoded->inputs[2].As<uint16_t>(), ElementsAre(0x3c00));
  std::vector<std::string_view> elements;
  ASSERT_TRUE(core::SplitBytesElements(decoded->inputs[3].data, elements).ok());
  EXPECT_THAT(elements, ElementsAre("hi", ""));
  for (const core::Tensor& tensor : decoded->inputs) {
    EXPECT_TRUE(core::ValidateTensorData(tensor).ok()) << tensor.name;
  }
}

TEST(BinaryTensorCodecTest, HeaderLengthMustBeANumberWithinTheBody) {
  const std::string json = R"({"inputs":[]})";
  EXPECT_TRUE(DecodeError(json, std::to_string(json.size())).ok());
  EXPECT_THAT(DecodeError(json, "100").message(),
              HasSubstr("Inference-Header-Content-Length is 100 but the body has only 13 bytes"));
  EXPECT_THAT(DecodeError(json, "12x").message(), HasSubstr("is not a byte count"));
  EXPECT_THAT(DecodeError(json, "-1").message(), HasSubstr("is not a byte count"));
  EXPECT_THAT(DecodeError(json, "5").message(), HasSubstr("malformed JSON"));
}

TEST(BinaryTensorCodecTest, SizesMustAddUpToTheBody) {
  const std::string input =
      R"({"inputs":[{"name":"a","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}}]})";
  {
    const auto [body, length] = Body(input, Blob({1.0f}));
    EXPECT_THAT(DecodeError(body, length).message(),
                HasSubstr("binary_data_size is 8 bytes but only 4 bytes of binary data"));
  }
  {
    const auto [body, length] = Body(input, Blob({1.0f, 2.0f, 3.0f}));
    EXPECT_THAT(DecodeError(body, length).message(),
                HasSubstr("4 bytes of binary data follow the JSON header but no input claims"));
  }
}

TEST(BinaryTensorCodecTest, RejectsDataTogetherWithBinarySizeAndBadSizes) {
  {
    const auto [body, length] = Body(
        R"({"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1],"parameters":{"binary_data_size":4}}]})",
        Blob({1.0f}));
    EXPECT_THAT(DecodeError(body, length).message(),
                HasSubstr("has both 'data' and a binary_data_size"));
  }
  {
    const auto [body, length] = Body(
        R"({"inputs":[{"name":"a","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":-4}}]})",
        "");
    EXPECT_THAT(DecodeError(body, length).message(),
                HasSubstr("'binary_data_size' must be a non-negative integer"));
  }
}

TEST(BinaryTensorCodecTest, RejectsABlobThatDisagreesWithItsShape) {
  const auto [body, length] = Body(
      R"({"inputs":[{"name":"a","datatype":"FP32","shape":[1,3],"parameters":{"binary_data_size":8}}]})",
      Blob({1.0f, 2.0f}));
  EXPECT_THAT(DecodeError(body, length).message(),
              HasSubstr("input 'a' has 2 elements but shape [1,3] needs 3"));
}

TEST(BinaryTensorCodecTest, RejectsTruncatedBytesLengths) {
  {
    const auto [body, length] = Body(
        R"({"inputs":[{"name":"s","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":6}}]})",
        std::string("\x09\x00\x00\x00hi", 6));
    EXPECT_THAT(DecodeError(body, length).message(),
                HasSubstr("input 's': BYTES element 0 declares 9 bytes but only 2 remain"));
  }
  {
    const auto [body, length] = Body(
        R"({"inputs":[{"name":"s","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":3}}]})",
        std::string("\x01\x00\x00", 3));
    EXPECT_THAT(DecodeError(body, length).message(),
                HasSubstr("a 4-byte length prefix at byte 0 has only 3 bytes"));
  }
}

core::InferResponse Response() {
  core::InferResponse response;
  response.model_name = "m";
  response.model_version = "1";
  core::Tensor y = core::Tensor::Zeros("y", core::DataType::kFp32, {2});
  y.MutableAs<float>()[0] = 0.5f;
  y.MutableAs<float>()[1] = 4.0f;
  response.outputs.push_back(y);
  core::Tensor z = core::Tensor::Zeros("z", core::DataType::kInt64, {1});
  z.MutableAs<int64_t>()[0] = 9;
  response.outputs.push_back(z);
  return response;
}

TEST(BinaryTensorCodecTest, SelectionReadsDefaultAndPerOutputFlags) {
  core::InferRequest request;
  request.parameters["binary_data_output"] = true;
  request.outputs.push_back({"z", {{"binary_data", false}}});
  request.outputs.push_back({"y", {}});
  const BinaryOutputSelection selection = BinaryOutputSelection::Of(request);
  EXPECT_TRUE(selection.by_default);
  EXPECT_THAT(selection.Flags(Response()), ElementsAre(true, false));

  core::InferRequest plain;
  EXPECT_THAT(BinaryOutputSelection::Of(plain).Flags(Response()), ElementsAre(false, false));
}

TEST(BinaryTensorCodecTest, EncodesSelectedOutputsAsBlobsAfterTheJson) {
  BinaryOutputSelection selection;
  selection.by_name["y"] = true;
  const EncodedInferResponse encoded = EncodeBinaryInferResponse(Response(), selection);
  ASSERT_TRUE(encoded.has_blobs);
  const std::string json = encoded.body.substr(0, encoded.json_size);
  EXPECT_THAT(json, HasSubstr(R"("name":"y","datatype":"FP32","shape":[2],)"
                              R"("parameters":{"binary_data_size":8}})"));
  EXPECT_THAT(json, HasSubstr(R"("name":"z","datatype":"INT64","shape":[1],"data":[9]})"));
  EXPECT_EQ(encoded.body.substr(encoded.json_size), Blob({0.5f, 4.0f}));
}

TEST(BinaryTensorCodecTest, EncodesPlainJsonWhenNoOutputIsBinary) {
  const EncodedInferResponse encoded = EncodeBinaryInferResponse(Response(), {});
  EXPECT_FALSE(encoded.has_blobs);
  EXPECT_EQ(encoded.json_size, encoded.body.size());
  EXPECT_THAT(encoded.body, HasSubstr(R"("data":[0.5,4.0])"));
}

}  // namespace
}  // namespace strata::api
