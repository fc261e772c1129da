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

// The batch job's final merge used to hold a 64 KiB buffer (and a file) per
// run, so its memory grew with the input's row count.
TEST_F(SortedRunTest, AMergeOfManyRunsStaysWithinItsBudget) {
  std::vector<fs::path> runs;
  for (int r = 0; r < 300; ++r) {  // run r holds keys r and r + 300
    char a[8], b[8];
    std::snprintf(a, sizeof a, "k%05d", r);
    std::snprintf(b, sizeof b, "k%05d", r + 300);
    runs.push_back(Write("run" + std::to_string(r), {{a, "x"}, {b, "y"}}));
  }
  const fs::path scratch = dir_ / "scratch";
  fs::create_directories(scratch);
  const MergeBudget budget{.buffer_bytes = 256 << 10, .max_runs = 16};
  absl::StatusOr<SortedRunMerger> merger = SortedRunMerger::Open(runs, scratch, budget);
  ASSERT_TRUE(merger.ok()) << merger.status();
  EXPECT_LE(merger->buffer_bytes(), budget.buffer_bytes);
  int n = 0;
  std::string previous;
  while (merger->Next()) {
    EXPECT_LT(previous, merger->key());
    previous = std::string(merger->key());
    ++n;
  }
  EXPECT_TRUE(merger->status().ok()) << merger->status();
  EXPECT_EQ(n, 600);
  // Two levels (300 -> 19 -> 2 runs); the first level's runs are removed.
  EXPECT_EQ(std::distance(fs::directory_iterator(scratch), fs::directory_iterator{}), 2);
}

TEST_F(SortedRunTest, AMergeBeyondItsFanInNeedsAScratchDirectory) {
  std::vector<fs::path> runs = {Write("a", {{"a", "1"}}), Write("b", {{"b", "2"}}),
                                Write("c", {{"c", "3"}})};
  absl::StatusOr<SortedRunMerger> merger =
      SortedRunMerger::Open(runs, {}, MergeBudget{.max_runs = 2});
  EXPECT_EQ(merger.status().code(), absl::StatusCode::kInvalidArgument);
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
