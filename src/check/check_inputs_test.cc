#include "check/check_inputs.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace strata::check {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSamples =
    R"({"request": {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 1], "data": [1]}]},)"
    R"( "expected": {"outputs": [{"name": "y", "datatype": "FP32", "shape": [1], "data": [2]}]}})";

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

class CheckInputsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ =
        fs::temp_directory_path() /
        ("check_inputs_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
    fs::remove_all(root_);
    Write(root_ / "models/m/1/samples.json", kSamples);
    Write(root_ / "models/m/3/samples.json", kSamples);
    Write(root_ / "models/m/3/check/heldout.jsonl",
          std::string(kSamples) + "\n\n" + kSamples + "\n");
    Write(root_ / "models/m/3/check/reference.json",
          R"({"output": "y", "edges": [1], "fractions": [0.5, 0.5]})");
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_;
  CheckTarget target_{.url = "http://127.0.0.1:1", .model = "m", .version = "", .bearer_token = ""};
};

TEST_F(CheckInputsTest, ReadsTheHighestVersionsFiles) {
  CheckOptions options;
  options.repository = root_;
  auto inputs = ReadCheckInputs(target_, options);
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  EXPECT_EQ(inputs->samples.samples.size(), 1u);
  EXPECT_EQ(inputs->heldout.size(), 2u);  // the blank line is skipped
  ASSERT_TRUE(inputs->reference);
  EXPECT_EQ(inputs->reference->output, "y");
  EXPECT_EQ(inputs->tolerance, 1e-5);
}

TEST_F(CheckInputsTest, AVersionWithoutCheckFilesSkipsStatisticalAndSaysWhy) {
  CheckOptions options;
  options.repository = root_;
  options.tolerance = 0.5;
  target_.version = "1";
  auto inputs = ReadCheckInputs(target_, options);
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  EXPECT_FALSE(inputs->reference);
  EXPECT_NE(inputs->statistical_missing.find("--heldout"), std::string::npos);
  EXPECT_EQ(inputs->tolerance, 0.5);
}

TEST_F(CheckInputsTest, MissingInputsAreUsageErrors) {
  CheckOptions none;
  EXPECT_TRUE(absl::IsInvalidArgument(ReadCheckInputs(target_, none).status()));
  CheckOptions options;
  options.repository = root_;
  target_.version = "2";
  EXPECT_TRUE(absl::IsNotFound(ReadCheckInputs(target_, options).status()));
  CheckOptions file;
  file.samples = root_ / "nope.json";
  EXPECT_TRUE(absl::IsNotFound(ReadCheckInputs(target_, file).status()));
  Write(root_ / "bad.json", "{");
  file.samples = root_ / "bad.json";
  EXPECT_TRUE(absl::IsInvalidArgument(ReadCheckInputs(target_, file).status()));
}

}  // namespace
}  // namespace strata::check
