#include "store/table_manifest.h"

#include <cmath>

#include "gtest/gtest.h"

namespace strata::store {
namespace {

TableManifest Sample() {
  TableManifest m;
  m.table = "sales_forecast";
  m.version = 7;
  m.store = "rocksdb";
  m.model_name = "sales_gbdt";
  m.model_version = 3;
  m.key = *KeySchema::Parse("store_id:INT64,date");
  m.outputs = {{"prediction", core::DataType::kFp32, {}}, {"scores", core::DataType::kFp64, {3}}};
  m.rows = 42;
  m.created = "2026-11-22T15:37:44Z";
  m.checksum = "42:00ff";
  m.job = "abc";
  m.verification.rows = 42;
  m.verification.previous_version = 6;
  m.verification.psi = 0.01;
  OutputStats s;
  s.name = "prediction";
  s.count = 40;
  s.nan = 2;
  s.min = -1.5;
  s.max = 2.25;
  s.mean = std::nan("");
  s.quantiles = {{0.0, -1.5}, {0.5, 0.125}, {1.0, 2.25}};
  s.classes = {{0, 10}, {1, 30}};
  m.verification.outputs.push_back(s);
  m.verification.checks.push_back({"nan", false, "2 NaN > 0 allowed"});
  return m;
}

TEST(TableManifestTest, RoundTrips) {
  const TableManifest m = Sample();
  absl::StatusOr<TableManifest> back = ParseManifest(ManifestToYaml(m));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ManifestToYaml(*back), ManifestToYaml(m));
  EXPECT_EQ(back->key.ToString(), "store_id:INT64,date:BYTES");
  EXPECT_EQ(back->ValueSize(), 4u + 24u);
  EXPECT_TRUE(std::isnan(back->verification.outputs[0].mean));
  EXPECT_EQ(back->verification.outputs[0].classes.at(1), 30);
  EXPECT_DOUBLE_EQ(*back->verification.psi, 0.01);
  EXPECT_DOUBLE_EQ(back->verification.outputs[0].Quantile(0.25), -0.6875);
}

TEST(TableManifestTest, FeatureTableRoundTripsWithBytesColumns) {
  TableManifest m = Sample();
  m.kind = TableKind::kFeatures;
  m.feature_tables = {{"user_stats", 3}};
  m.outputs = {{"price", core::DataType::kFp64, {}}, {"category", core::DataType::kBytes, {}}};
  absl::StatusOr<TableManifest> back = ParseManifest(ManifestToYaml(m));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->kind, TableKind::kFeatures);
  EXPECT_EQ(back->outputs[1].dtype, core::DataType::kBytes);
  EXPECT_EQ(back->feature_tables.at("user_stats"), 3);
  // A prediction table never holds BYTES outputs.
  m.kind = TableKind::kPredictions;
  EXPECT_FALSE(ParseManifest(ManifestToYaml(m)).ok());
}

TEST(TableManifestTest, MalformedIsDataLoss) {
  EXPECT_EQ(ParseManifest("table: [").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ParseManifest("a: 1").status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace strata::store
