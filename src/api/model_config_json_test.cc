#include "api/model_config_json.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"

namespace strata::api {
namespace {

TEST(ModelConfigJsonTest, WritesTritonFieldNamesAndNumbers) {
  inference::ModelConfig config;
  config.set_name("digits");
  config.set_platform("pytorch_torchscript");
  config.set_backend("torchscript");
  config.set_max_batch_size(16);
  inference::ModelInput* input = config.add_input();
  input->set_name("x");
  input->set_data_type(inference::TYPE_FP32);
  input->add_dims(64);
  inference::ModelOutput* output = config.add_output();
  output->set_name("y");
  output->set_data_type(inference::TYPE_STRING);
  output->add_dims(-1);
  config.mutable_dynamic_batching()->set_max_queue_delay_microseconds(250);
  config.mutable_dynamic_batching()->add_preferred_batch_size(8);
  (*config.mutable_parameters())["threads"].set_string_value("2");

  const std::string json = ModelConfigToJson(config);
  simdjson::dom::parser parser;
  simdjson::dom::element root = parser.parse(json);
  EXPECT_EQ(std::string_view(root["name"]), "digits");
  EXPECT_EQ(std::string_view(root["platform"]), "pytorch_torchscript");
  EXPECT_EQ(std::string_view(root["backend"]), "torchscript");
  EXPECT_EQ(int64_t(root["max_batch_size"]), 16);
  EXPECT_EQ(std::string_view(root["input"].at(0)["name"]), "x");
  EXPECT_EQ(std::string_view(root["input"].at(0)["data_type"]), "TYPE_FP32");
  EXPECT_EQ(int64_t(root["input"].at(0)["dims"].at(0)), 64);
  EXPECT_EQ(std::string_view(root["output"].at(0)["data_type"]), "TYPE_STRING");
  EXPECT_EQ(int64_t(root["output"].at(0)["dims"].at(0)), -1);
  EXPECT_EQ(uint64_t(root["dynamic_batching"]["max_queue_delay_microseconds"]), 250u);
  EXPECT_EQ(int64_t(root["dynamic_batching"]["preferred_batch_size"].at(0)), 8);
  EXPECT_EQ(std::string_view(root["parameters"]["threads"]["string_value"]), "2");
}

TEST(ModelConfigJsonTest, OmitsDynamicBatchingWhenTheModelDoesNotBatch) {
  inference::ModelConfig config;
  config.set_name("m");
  const std::string json = ModelConfigToJson(config);
  EXPECT_EQ(json.find("dynamic_batching"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("input":[],"output":[])"), std::string::npos) << json;
}

}  // namespace
}  // namespace strata::api
