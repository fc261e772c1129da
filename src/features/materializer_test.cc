#include "features/materializer.h"

#include "features/feature_row_codec.h"
#include "features/offline_test_util.h"
#include "features/point_in_time.h"
#include "gtest/gtest.h"
#include "store/memory_table_store.h"
#include "store/table_verification.h"

namespace strata::features {
namespace {

using testing::Parse;
using testing::TestDefinition;

constexpr std::string_view kUsers =
    "user_id,event_time,purchases,country\n"
    "1,100,5,fr\n"
    "1,200,7,fr\n"
    "2,150,3,de\n"
    "1,300,9,us\n"
    "3,400,1,jp\n";

SourceRows Users(const FeatureDefinition& d) {
  return Parse(kUsers, TableSourceColumns(d, d.tables[0], "event_time"));
}

// The decoded row of `user` in the store's current version of user_stats.
std::pair<std::vector<FeatureValue>, int64_t> RowOf(const store::TableStore& store, int64_t user) {
  const FeatureDefinition d = TestDefinition();
  const int64_t version = *store.CurrentVersion("user_stats");
  auto table = *store.Open("user_stats", version);
  std::string key;
  store::KeySchema::AppendInt(user, key);
  store::LookupResult found = *table->MultiGet(std::span(&key, 1));
  std::vector<FeatureValue> values(2);
  int64_t time = -1;
  if (found.found[0]) {
    EXPECT_TRUE(DecodeFeatureRow(found.values[0], d.tables[0].columns, values, time).ok());
  }
  return {values, time};
}

TEST(MaterializerTest, WritesTheLatestRowPerKeyAsOfAndPublishes) {
  const FeatureDefinition d = TestDefinition();
  store::MemoryTableStore store;
  absl::StatusOr<MaterializeResult> r = Materialize(store, d, Users(d), testing::UserStats(250));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows, 2);  // users 1 and 2; user 3's only row is after as_of
  EXPECT_EQ(r->future_rows, 2);
  EXPECT_TRUE(r->published);
  EXPECT_EQ(*store.CurrentVersion("user_stats"), r->version);
  auto [values, time] = RowOf(store, 1);
  EXPECT_EQ(time, 200);
  EXPECT_EQ(std::get<double>(values[0]), 7);
  EXPECT_EQ(RowOf(store, 3).second, -1);  // not written
  const store::TableManifest m = *store.ReadManifest("user_stats", r->version);
  EXPECT_EQ(m.kind, store::TableKind::kFeatures);
  EXPECT_EQ(m.key.ToString(), "user_id:INT64");
  EXPECT_EQ(m.rows, 2);
  EXPECT_TRUE(CheckFeatureTableManifest(m, d, d.tables[0]).ok());
  EXPECT_TRUE(store::VerifyTableVersion(store, "user_stats", r->version).ok());
}

TEST(MaterializerTest, WithoutAsOfEveryRowCountsAndANewVersionIsPublished) {
  const FeatureDefinition d = TestDefinition();
  store::MemoryTableStore store;
  ASSERT_TRUE(Materialize(store, d, Users(d), testing::UserStats(250)).ok());
  absl::StatusOr<MaterializeResult> r = Materialize(store, d, Users(d), testing::UserStats());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows, 3);
  EXPECT_EQ(r->version, 2);
  EXPECT_EQ(RowOf(store, 1).second, 300);
  EXPECT_EQ(std::get<std::string>(RowOf(store, 1).first[1]), "us");
}

TEST(MaterializerTest, RefusesKeysThatDoNotMatchTheEntity) {
  const FeatureDefinition d = TestDefinition();
  store::MemoryTableStore store;
  // The source file's key column is not the entity's.
  absl::StatusOr<SourceRows> rows =
      ParseSource("customer,event_time,purchases,country\n1,100,5,fr\n", SourceFormat::kCsv,
                  TableSourceColumns(d, d.tables[0], "event_time"), "users.csv");
  ASSERT_FALSE(rows.ok());
  EXPECT_NE(rows.status().message().find("no column 'user_id'"), std::string::npos);
  // A key that is not an INT64 as the entity declares.
  absl::StatusOr<SourceRows> text_keys =
      ParseSource("user_id,event_time,purchases,country\nabc,100,5,fr\n", SourceFormat::kCsv,
                  TableSourceColumns(d, d.tables[0], "event_time"), "users.csv");
  EXPECT_FALSE(text_keys.ok());
  // A table of the same name keyed differently already in the store.
  FeatureDefinition other = d;
  other.entities[0].keys[0].type = ValueType::kString;
  SourceRows string_keys = Parse("user_id,event_time,purchases,country\nu1,100,5,fr\n",
                                 TableSourceColumns(other, other.tables[0], "event_time"));
  ASSERT_TRUE(Materialize(store, other, string_keys, testing::UserStats()).ok());
  absl::StatusOr<MaterializeResult> r = Materialize(store, d, Users(d), testing::UserStats());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("user_id:BYTES"), std::string::npos) << r.status();
}

TEST(MaterializerTest, NothingAtOrBeforeAsOfWritesNothing) {
  const FeatureDefinition d = TestDefinition();
  store::MemoryTableStore store;
  absl::StatusOr<MaterializeResult> r = Materialize(store, d, Users(d), testing::UserStats(10));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(*store.CurrentVersion("user_stats"), 0);
}

}  // namespace
}  // namespace strata::features
