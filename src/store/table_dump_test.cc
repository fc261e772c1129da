#include "store/table_dump.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "store/memory_table_store.h"
#include "store/sorted_run.h"
#include "store/table_checksum.h"
#include "store/table_verification.h"

namespace strata::store {
namespace {
namespace fs = std::filesystem;

class TableDumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("strata-dump-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto builder = store_.NewBuilder("t", dir_);
    ASSERT_TRUE(builder.ok());
    TableChecksum checksum;
    TableManifest manifest;
    manifest.table = "t";
    manifest.key = KeySchema({{"id", core::DataType::kInt64}});
    manifest.outputs = {{.name = "y", .dtype = core::DataType::kFp32, .shape = {}}};
    for (int i = 0; i < 1000; ++i) {
      std::string key = std::to_string(100000 + i);
      const std::string value = "abcd";
      ASSERT_TRUE((*builder)->Add(key, value).ok());
      checksum.Add(key, value);
    }
    manifest.rows = checksum.count();
    manifest.checksum = checksum.ToString();
    ASSERT_TRUE((*builder)->Commit(manifest).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  MemoryTableStore store_;
};

TEST_F(TableDumpTest, DumpsInSortedChunksThatVerifyAgainstTheManifest) {
  auto table = store_.Open("t", 1);
  ASSERT_TRUE(table.ok());
  EXPECT_TRUE(VerifyTableData(**table).ok());
  EXPECT_TRUE(VerifyTableVersion(store_, "t", 1).ok());
  auto dump = DumpTable(**table, dir_, 4096);
  ASSERT_TRUE(dump.ok()) << dump.status();
  EXPECT_GT(dump->runs.size(), 3u);
  EXPECT_EQ(dump->rows, 1000);
  EXPECT_EQ(dump->checksum, (*table)->manifest().checksum);
  EXPECT_TRUE(VerifyDump(dump->runs, (*table)->manifest()).ok());
  auto merger = SortedRunMerger::Open(dump->runs);
  ASSERT_TRUE(merger.ok());
  std::string previous;
  while (merger->Next()) {
    EXPECT_LT(previous, merger->key());
    previous = std::string(merger->key());
  }
}

TEST_F(TableDumpTest, ADamagedDumpOrAnotherManifestIsDataLoss) {
  auto table = store_.Open("t", 1);
  ASSERT_TRUE(table.ok());
  auto dump = DumpTable(**table, dir_, 4096);
  ASSERT_TRUE(dump.ok());
  TableManifest other = (*table)->manifest();
  other.checksum = "1000:00000000000000000000000000000000";
  EXPECT_EQ(VerifyDump(dump->runs, other).code(), absl::StatusCode::kDataLoss);
  fs::resize_file(dump->runs[0], fs::file_size(dump->runs[0]) - 3);
  EXPECT_EQ(VerifyDump(dump->runs, (*table)->manifest()).code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace strata::store
