#include "store/sorted_run.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace strata::store {
namespace {
namespace fs = std::filesystem;

class SortedRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("strata-run-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Write(const std::string& name,
                 std::vector<std::pair<std::string, std::string>> records) {
    auto writer = SortedRunWriter::Create(dir_ / name);
    EXPECT_TRUE(writer.ok());
    for (auto& [k, v] : records) EXPECT_TRUE((*writer)->Add(k, v).ok());
    EXPECT_TRUE((*writer)->Finish().ok());
    return dir_ / name;
  }
  fs::path dir_;
};

TEST_F(SortedRunTest, MergesRunsInKeyOrder) {
  std::vector<fs::path> runs = {Write("a", {{"b", "1"}, {"d", "2"}}),
                                Write("b", {{"a", "3"}, {"c", "4"}, {"e", "5"}}), Write("c", {})};
  absl::StatusOr<SortedRunMerger> merger = SortedRunMerger::Open(runs);
  ASSERT_TRUE(merger.ok());
  std::string keys, values;
  while (merger->Next()) {
    keys += merger->key();
    values += merger->value();
  }
  EXPECT_TRUE(merger->status().ok());
  EXPECT_EQ(keys, "abcde");
  EXPECT_EQ(values, "31425");
}

TEST_F(SortedRunTest, AnUnfinishedRunIsNotVisible) {
  {
    auto writer = SortedRunWriter::Create(dir_ / "x");
    ASSERT_TRUE((*writer)->Add("k", "v").ok());
  }
  EXPECT_FALSE(fs::exists(dir_ / "x"));
  EXPECT_FALSE(fs::exists(dir_ / "x.tmp"));
}

TEST_F(SortedRunTest, ATruncatedRunIsDataLoss) {
  fs::path run = Write("t", {{"key1", "value1"}, {"key2", "value2"}});
  fs::resize_file(run, fs::file_size(run) - 14);
  auto reader = SortedRunReader::Open(run);
  ASSERT_TRUE(reader.ok());
  int n = 0;
  while ((*reader)->Next()) ++n;
  EXPECT_EQ(n, 1);
  EXPECT_EQ((*reader)->status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace strata::store
