#include "store/rocksdb/rocksdb_table_store.h"

#include <unistd.h>

#include <fstream>

#include "gtest/gtest.h"
#include "store/table_checksum.h"

namespace strata::store {
namespace {
namespace fs = std::filesystem;

TableManifest Manifest(int64_t rows) {
  TableManifest m;
  m.table = "t";
  m.model_name = "m";
  m.model_version = 1;
  m.key = *KeySchema::Parse("id:INT64");
  m.outputs = {{"y", core::DataType::kFp32, {}}};
  m.rows = rows;
  return m;
}

std::string Key(int64_t id) {
  std::string key;
  KeySchema::AppendInt(id, key);
  return key;
}

std::string Value(float y) { return std::string(reinterpret_cast<char*>(&y), 4); }

class RocksDbTableStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("strata-rocks-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    auto store = RocksDbTableStore::Create(
        {.root = root_, .block_cache_bytes = 1 << 20, .target_file_bytes = 4096});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void TearDown() override { fs::remove_all(root_); }

  // Builds a version with ids [0, rows) (even ids only) and y = id / 2.
  int64_t Build(int64_t rows) {
    auto builder = store_->NewBuilder("t", root_);
    EXPECT_TRUE(builder.ok());
    for (int64_t id = 0; id < rows * 2; id += 2) {
      EXPECT_TRUE((*builder)->Add(Key(id), Value(id / 2.0f)).ok());
    }
    absl::StatusOr<int64_t> version = (*builder)->Commit(Manifest(rows));
    EXPECT_TRUE(version.ok()) << version.status();
    return version.value_or(0);
  }

  fs::path root_;
  std::unique_ptr<RocksDbTableStore> store_;
};

TEST_F(RocksDbTableStoreTest, BuildsAndLooksUpManyKeysAtOnce) {
  const int64_t version = Build(2000);  // several SST files at 4 KiB each
  EXPECT_EQ(version, 1);
  EXPECT_GT(
      std::distance(fs::directory_iterator(root_ / "t" / "1" / "db"), fs::directory_iterator{}), 3);
  absl::StatusOr<std::shared_ptr<PredictionTable>> table = store_->Open("t", 1);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ((*table)->manifest().store, "rocksdb");
  std::vector<std::string> keys = {Key(10), Key(11), Key(3998), Key(4000), Key(-2)};
  absl::StatusOr<LookupResult> result = (*table)->MultiGet(keys);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->found, (std::vector<uint8_t>{1, 0, 1, 0, 0}));
  EXPECT_EQ(result->values[0], Value(5.0f));
  EXPECT_EQ(result->values[2], Value(1999.0f));
  int64_t scanned = 0;
  ASSERT_TRUE((*table)
                  ->Scan([&](std::string_view, std::string_view) {
                    ++scanned;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(scanned, 2000);
}

// A builder's bloom filter holds 8 bytes per key of its open file, so one
// large file made the batch job's memory grow with the table.
TEST_F(RocksDbTableStoreTest, ABuildCutsFilesByKeyCount) {
  auto store = RocksDbTableStore::Create({.root = root_ / "keys", .target_file_keys = 100});
  ASSERT_TRUE(store.ok()) << store.status();
  auto builder = (*store)->NewBuilder("t", root_);
  ASSERT_TRUE(builder.ok());
  for (int64_t id = 0; id < 1000; ++id) ASSERT_TRUE((*builder)->Add(Key(id), Value(id)).ok());
  ASSERT_TRUE((*builder)->Commit(Manifest(1000)).ok());
  int ssts = 0;
  for (const auto& entry : fs::directory_iterator(root_ / "keys" / "t" / "1" / "db")) {
    ssts += entry.path().extension() == ".sst";
  }
  EXPECT_EQ(ssts, 10);
  absl::StatusOr<std::shared_ptr<PredictionTable>> table = (*store)->Open("t", 1);
  ASSERT_TRUE(table.ok()) << table.status();
  const std::vector<std::string> keys = {Key(0), Key(999), Key(1000)};
  absl::StatusOr<LookupResult> result = (*table)->MultiGet(keys);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->found, (std::vector<uint8_t>{1, 1, 0}));
}

TEST_F(RocksDbTableStoreTest, AnAbandonedBuildLeavesNothing) {
  {
    auto builder = store_->NewBuilder("t", root_);
    ASSERT_TRUE((*builder)->Add(Key(1), Value(1)).ok());
  }
  EXPECT_TRUE(store_->ListVersions("t")->empty());
  EXPECT_EQ(std::distance(fs::directory_iterator(root_ / "t"), fs::directory_iterator{}), 0);
}

TEST_F(RocksDbTableStoreTest, PointerPublishesAndRollsBack) {
  Build(10);
  Build(20);
  EXPECT_EQ(*store_->CurrentVersion("t"), 2);
  ASSERT_TRUE(store_->SetCurrentVersion("t", 1).ok());
  EXPECT_EQ(*store_->CurrentVersion("t"), 1);
  EXPECT_EQ((*store_->Open("t", 2))->manifest().rows, 20);
}

TEST_F(RocksDbTableStoreTest, ACorruptVersionIsRefused) {
  Build(2000);
  for (const auto& entry : fs::directory_iterator(root_ / "t" / "1" / "db")) {
    if (entry.path().extension() == ".sst") {
      std::fstream f(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(100);
      f.write("garbage!garbage!", 16);
      break;
    }
  }
  absl::StatusOr<std::shared_ptr<PredictionTable>> table = store_->Open("t", 1);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), absl::StatusCode::kDataLoss) << table.status();
}

TEST_F(RocksDbTableStoreTest, AManifestThatDisagreesWithTheDataIsRefused) {
  Build(10);
  auto manifest = store_->ReadManifest("t", 1);
  manifest->rows = 11;
  std::ofstream(root_ / "t" / "1" / "manifest.yaml") << ManifestToYaml(*manifest);
  EXPECT_EQ(store_->Open("t", 1).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace strata::store
