#include "store/table_directory.h"

#include <unistd.h>

#include "gtest/gtest.h"

namespace strata::store {
namespace {
namespace fs = std::filesystem;

TableManifest Manifest() {
  TableManifest m;
  m.table = "t";
  m.store = "test";
  m.model_name = "m";
  m.model_version = 1;
  m.key = *KeySchema::Parse("id:INT64");
  m.outputs = {{"y", core::DataType::kFp32, {}}};
  return m;
}

class TableDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("strata-tabledir-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  int64_t Commit() {
    const fs::path build = root_ / ("build" + std::to_string(n_++));
    fs::create_directories(build);
    absl::StatusOr<int64_t> v = TableDirectory(root_).CommitVersion("t", build, Manifest());
    EXPECT_TRUE(v.ok()) << v.status();
    EXPECT_FALSE(fs::exists(build));
    return v.value_or(0);
  }
  fs::path root_;
  int n_ = 0;
};

TEST_F(TableDirectoryTest, VersionsCountUpAndPointerSwitches) {
  TableDirectory dir(root_);
  EXPECT_EQ(*dir.CurrentVersion("t"), 0);
  EXPECT_EQ(Commit(), 1);
  EXPECT_EQ(Commit(), 2);
  EXPECT_EQ(dir.ListVersions("t"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(*dir.CurrentVersion("t"), 2);  // no pointer: the highest
  ASSERT_TRUE(dir.SetCurrentVersion("t", 1).ok());
  EXPECT_EQ(*dir.CurrentVersion("t"), 1);
  EXPECT_EQ(dir.ReadManifest("t", 2)->version, 2);
  EXPECT_FALSE(dir.SetCurrentVersion("t", 9).ok());
  EXPECT_EQ(dir.ListTables(), std::vector<std::string>{"t"});
}

TEST_F(TableDirectoryTest, DirectoriesWithoutManifestAreNotVersions) {
  fs::create_directories(root_ / "t" / "5");
  TableDirectory dir(root_);
  EXPECT_TRUE(dir.ListVersions("t").empty());
  EXPECT_EQ(Commit(), 1);
}

TEST_F(TableDirectoryTest, RemovesOldVersionsButNeverCurrent) {
  TableDirectory dir(root_);
  for (int i = 0; i < 4; ++i) Commit();
  ASSERT_TRUE(dir.SetCurrentVersion("t", 1).ok());
  absl::StatusOr<int> removed = dir.RemoveOldVersions("t", 2);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1);
  EXPECT_EQ(dir.ListVersions("t"), (std::vector<int64_t>{1, 3, 4}));
}

}  // namespace
}  // namespace strata::store
