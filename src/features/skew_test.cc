#include "features/skew.h"

#include "features/feature_pipeline.h"
#include "features/materializer.h"
#include "features/offline_test_util.h"
#include "features/point_in_time.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "store/memory_table_store.h"

namespace strata::features {
namespace {

using testing::Parse;
using testing::TestDefinition;

constexpr std::string_view kSecret = "a-secret-of-at-least-16-bytes";

class SkewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    definition_ = TestDefinition();
    pipeline_ = *FeaturePipeline::Create(definition_);
    const SourceRows users =
        Parse("user_id,event_time,purchases,country\n1,100,5,fr\n2,150,3,de\n",
              TableSourceColumns(definition_, definition_.tables[0], "event_time"));
    version_ = Materialize(store_, definition_, users, testing::UserStats())->version;
  }

  // A log line as the server writes it, for `user` at `ts`, with the vector the
  // pipeline computes from the table (or `vector` when given).
  std::string LogLine(int64_t user, int64_t ts, std::vector<float> vector = {}) {
    if (vector.empty()) {
      RawRows raw(1, pipeline_->slots().size());
      raw.At(0, 0) = ts;
      raw.At(0, 1) = user;
      if (user == 1) raw.At(0, 2) = 5.0;
      if (user == 2) raw.At(0, 2) = 3.0;
      vector.resize(pipeline_->width());
      EXPECT_TRUE(pipeline_->TransformRow(raw.Row(0), vector).ok());
    }
    std::string key;
    store::KeySchema::AppendInt(user, key);
    return fmt::format(
        "{{\"ts\":{},\"request_id\":\"r{}\",\"model\":\"m\",\"version\":1,\"entities\":{{\"user\":"
        "\"{}\"}},\"request\":{{\"ts\":{}}},\"tables\":{{\"user_stats\":{}}},\"vector\":[{}]}}",
        ts, user, KeyedHasher(std::string(kSecret)).Hash(key), ts, version_,
        fmt::join(vector, ","));
  }

  SkewReport Check(const std::vector<std::string>& lines) {
    SkewChecker checker(pipeline_, store_, KeyedHasher(std::string(kSecret)));
    for (const std::string& line : lines) {
      absl::StatusOr<ServedRow> row = ParseServedRow(line, definition_);
      EXPECT_TRUE(row.ok()) << row.status() << line;
      if (row.ok()) checker.Add(*row);
    }
    return checker.Report(nullptr);
  }

  FeatureDefinition definition_;
  std::shared_ptr<const FeaturePipeline> pipeline_;
  store::MemoryTableStore store_;
  int64_t version_ = 0;
};

TEST_F(SkewTest, AnHonestLogHasNoDifferingRow) {
  const SkewReport r = Check({LogLine(1, 3600), LogLine(2, 7300), LogLine(9, 100)});
  EXPECT_EQ(r.rows, 3);
  EXPECT_EQ(r.differing_rows, 0) << (r.problems.empty() ? "" : r.problems[0]);
  EXPECT_EQ(r.unmatched, 0);
  for (const FeatureSkew& f : r.features) EXPECT_EQ(f.differing, 0) << f.name;
}

TEST_F(SkewTest, ATamperedVectorIsReportedForItsFeatureOnly) {
  std::string honest = LogLine(1, 3600);
  std::vector<float> vector(pipeline_->width());
  RawRows raw(1, pipeline_->slots().size());
  raw.At(0, 0) = int64_t{3600};
  raw.At(0, 1) = int64_t{1};
  raw.At(0, 2) = 5.0;
  ASSERT_TRUE(pipeline_->TransformRow(raw.Row(0), vector).ok());
  vector[1] = std::nextafter(vector[1], 100.0f);  // one ulp off in `scaled`
  const SkewReport r = Check({honest, LogLine(1, 3600, vector)});
  EXPECT_EQ(r.differing_rows, 1);
  EXPECT_EQ(r.features[0].differing, 0);
  EXPECT_EQ(r.features[1].differing, 1);
  EXPECT_EQ(r.features[2].differing, 0);
  ASSERT_FALSE(r.problems.empty());
  EXPECT_NE(r.problems[0].find("scaled"), std::string::npos);
}

TEST_F(SkewTest, ATamperedTableIsReported) {
  const std::string line = LogLine(1, 3600);
  // A new version with another value, logged as if the server had read it.
  const SourceRows users =
      Parse("user_id,event_time,purchases,country\n1,100,6,fr\n",
            TableSourceColumns(definition_, definition_.tables[0], "event_time"));
  version_ = Materialize(store_, definition_, users, testing::UserStats())->version;
  const SkewReport r = Check({LogLine(1, 3600, {}), line});
  EXPECT_EQ(r.rows, 2);
  EXPECT_GE(r.differing_rows, 1);
  EXPECT_GE(r.features[0].differing, 1);
}

TEST_F(SkewTest, PsiAgainstATrainingSetIsZeroForTheSameDistribution) {
  SkewChecker checker(pipeline_, store_, KeyedHasher(std::string(kSecret)));
  std::string training = "purchases,scaled,hour\n";
  for (int i = 0; i < 100; ++i) {
    const int64_t user = 1 + i % 2;
    checker.Add(*ParseServedRow(LogLine(user, 3600 * (i % 24)), definition_));
    training += fmt::format("{},{},{}\n", user == 1 ? 5 : 3, user == 1 ? 0.75 : 0.25, i % 24);
  }
  const SourceRows rows = Parse(training, checker.TrainingColumns());
  const SkewReport r = checker.Report(&rows);
  ASSERT_TRUE(r.features[0].psi.has_value());
  EXPECT_LT(*r.features[0].psi, 0.01);
  EXPECT_LT(*r.features[2].psi, 0.01);
}

TEST_F(SkewTest, AMalformedLineNamesTheField) {
  absl::StatusOr<ServedRow> row =
      ParseServedRow("{\"ts\":1,\"tables\":{\"user_stats\":\"x\"}}", definition_);
  ASSERT_FALSE(row.ok());
  EXPECT_NE(row.status().message().find("tables.user_stats"), std::string::npos);
}

}  // namespace
}  // namespace strata::features
