#include "api/payload_log.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace strata::api {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

core::InferRequest Request() {
  core::InferRequest request;
  request.model_name = "purchase";
  request.id = "r-1";
  request.has_id = true;
  core::Tensor user{.name = "user_id", .dtype = core::DataType::kBytes, .shape = {1}, .data = {}};
  core::AppendBytesElement("alice", user.data);
  core::Tensor email{.name = "email", .dtype = core::DataType::kBytes, .shape = {1}, .data = {}};
  core::AppendBytesElement("alice@example.com", email.data);
  request.inputs = {user, email};
  return request;
}

core::InferResponse Response() {
  core::InferResponse response;
  response.model_name = "purchase";
  response.model_version = "2";
  core::Tensor score = core::Tensor::Zeros("score", core::DataType::kFp32, {1});
  score.MutableAs<float>()[0] = 0.25F;
  response.outputs = {score};
  return response;
}

double Counted(const PayloadLog& log, std::string_view result) {
  for (const auto& family : log.Collect()) {
    for (const auto& metric : family.metric) {
      if (metric.label.at(0).value == result) return metric.counter.value;
    }
  }
  return -1;
}

class PayloadLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("payload_log_test." + std::to_string(getpid()) + "." +
              ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                .string();
    std::filesystem::remove(path_);
    std::filesystem::remove(path_ + ".1");
  }
  void TearDown() override {
    std::filesystem::remove(path_);
    std::filesystem::remove(path_ + ".1");
  }
  PayloadLogOptions Options() const {
    return {.path = path_,
            .policy = {.inputs = {{"user_id", FieldAction::kHash}},
                       .outputs = {{"score", FieldAction::kKeep}}},
            .hasher = [](std::string_view) { return std::string("0123abcd"); },
            .sample = 1};
  }
  std::string path_;
};

TEST_F(PayloadLogTest, WritesARedactedLine) {
  auto log = PayloadLog::Open(Options());
  ASSERT_TRUE(log.ok()) << log.status();
  std::optional<PendingPayload> pending = (*log)->Sample(Request());
  ASSERT_TRUE(pending.has_value());
  (*log)->Record(*pending, Response());
  (*log)->Flush();
  const std::string text = ReadFile(path_);
  EXPECT_NE(text.find(R"("request_id":"r-1","model":"purchase","version":"2")"), std::string::npos)
      << text;
  EXPECT_NE(
      text.find(R"("inputs":{"user_id":{"datatype":"BYTES","shape":[1],"hash":["0123abcd"]}})"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("outputs":{"score":{"datatype":"FP32","shape":[1],"data":[0.25]}})"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("dropped_inputs":["email"],"dropped_outputs":[]})"), std::string::npos);
  EXPECT_EQ(text.find("alice"), std::string::npos) << text;
  EXPECT_EQ(Counted(**log, "written"), 1);
}

TEST_F(PayloadLogTest, RefusesASampleOutsideTheUnitInterval) {
  PayloadLogOptions options = Options();
  options.sample = 0;
  EXPECT_FALSE(PayloadLog::Open(options).ok());
  options.sample = 1.5;
  EXPECT_FALSE(PayloadLog::Open(options).ok());
}

TEST_F(PayloadLogTest, ALineThatDoesNotFitTheQueueIsDroppedAndCounted) {
  PayloadLogOptions options = Options();
  options.max_queue_bytes = 16;  // smaller than any line
  auto log = PayloadLog::Open(options);
  ASSERT_TRUE(log.ok());
  (*log)->Record(*(*log)->Sample(Request()), Response());
  (*log)->Flush();
  EXPECT_EQ(Counted(**log, "dropped"), 1);
  EXPECT_EQ(Counted(**log, "written"), 0);
  EXPECT_EQ(ReadFile(path_), "");
}

TEST_F(PayloadLogTest, RotatesAtItsSizeCap) {
  PayloadLogOptions options = Options();
  options.max_file_bytes = 600;
  auto log = PayloadLog::Open(options);
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 20; ++i) {
    (*log)->Record(*(*log)->Sample(Request()), Response());
    (*log)->Flush();
  }
  EXPECT_TRUE(std::filesystem::exists(path_ + ".1"));
  EXPECT_LE(std::filesystem::file_size(path_), 600u);
  EXPECT_LE(std::filesystem::file_size(path_ + ".1"), 600u);
  EXPECT_EQ(Counted(**log, "written"), 20);
}

}  // namespace
}  // namespace strata::api
