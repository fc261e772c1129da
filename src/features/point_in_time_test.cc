#include "features/point_in_time.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "features/feature_pipeline.h"
#include "features/offline_test_util.h"
#include "gtest/gtest.h"

namespace strata::features {
namespace {

using testing::Parse;
using testing::TestDefinition;

// user 1's purchases change at t=100 (to 5), at t=200 (to 7) and at t=300 (to 9,
// a value from the future for every label below).
constexpr std::string_view kUsers =
    "user_id,event_time,purchases,country\n"
    "1,200,7,fr\n"
    "1,100,5,fr\n"
    "2,150,3,de\n"
    "1,300,9,us\n";

TrainingRows Join(std::string_view labels_csv) {
  const FeatureDefinition d = TestDefinition();
  const PointInTimeOptions options;
  const SourceRows labels = Parse(labels_csv, LabelColumns(d, options));
  std::map<std::string, SourceRows> sources;
  sources["user_stats"] = Parse(kUsers, TableSourceColumns(d, d.tables[0], "event_time"));
  absl::StatusOr<TrainingRows> rows = JoinPointInTime(d, labels, sources, options);
  EXPECT_TRUE(rows.ok()) << rows.status();
  return rows.ok() ? *std::move(rows) : TrainingRows{};
}

double Purchases(const TrainingRows& rows, size_t row) {
  const int slot = 2;  // request.ts, user.user_id, then user_stats.purchases
  const FeatureValue& v = rows.raw.At(row, slot);
  return IsMissing(v) ? std::nan("") : std::get<double>(v);
}

TEST(PointInTimeTest, NoValueFromTheFutureReachesATrainingRow) {
  const TrainingRows rows = Join(
      "user_id,ts,label\n"
      "1,150,1\n"    // between 100 and 200: the t=100 row
      "1,299,0\n"    // just before the t=300 update: still 7
      "1,50,1\n"     // before any row: missing
      "3,500,0\n");  // an unknown user: missing
  ASSERT_EQ(rows.raw.rows(), 4u);
  EXPECT_EQ(Purchases(rows, 0), 5);
  EXPECT_EQ(Purchases(rows, 1), 7);
  EXPECT_TRUE(std::isnan(Purchases(rows, 2)));
  EXPECT_TRUE(std::isnan(Purchases(rows, 3)));
  EXPECT_EQ(rows.found[0], 2);
  EXPECT_EQ(rows.labels, (std::vector<double>{1, 0, 1, 0}));
  EXPECT_EQ(rows.timestamps, (std::vector<int64_t>{150, 299, 50, 500}));
}

TEST(PointInTimeTest, ARowAtExactlyTheLabelsTimeCounts) {
  const TrainingRows rows = Join("user_id,ts,label\n1,200,1\n1,300,1\n1,100,0\n");
  EXPECT_EQ(Purchases(rows, 0), 7);
  EXPECT_EQ(Purchases(rows, 1), 9);
  EXPECT_EQ(Purchases(rows, 2), 5);
}

TEST(PointInTimeTest, StaleRowsAreMissingAsTheServerWouldSeeThem) {
  FeatureDefinition d = TestDefinition();
  d.tables[0].max_age_seconds = 60;
  const PointInTimeOptions options;
  const SourceRows labels = Parse("user_id,ts,label\n1,159,1\n1,161,1\n", LabelColumns(d, options));
  std::map<std::string, SourceRows> sources;
  sources["user_stats"] = Parse(kUsers, TableSourceColumns(d, d.tables[0], "event_time"));
  absl::StatusOr<TrainingRows> rows = JoinPointInTime(d, labels, sources, options);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(Purchases(*rows, 0), 5);             // 59 s old
  EXPECT_TRUE(std::isnan(Purchases(*rows, 1)));  // 61 s old
}

TEST(PointInTimeTest, MissingSourceOrTimestampIsAnErrorThatSaysWhatToGive) {
  const FeatureDefinition d = TestDefinition();
  const PointInTimeOptions options;
  const SourceRows labels = Parse("user_id,ts,label\n1,150,1\n", LabelColumns(d, options));
  absl::StatusOr<TrainingRows> rows = JoinPointInTime(d, labels, {}, options);
  ASSERT_FALSE(rows.ok());
  EXPECT_NE(rows.status().message().find("--source user_stats=FILE"), std::string::npos);
  absl::StatusOr<SourceRows> no_ts =
      ParseSource("user_id,label\n1,1\n", SourceFormat::kCsv, LabelColumns(d, options), "l.csv");
  ASSERT_FALSE(no_ts.ok());
  EXPECT_NE(no_ts.status().message().find("no column 'ts'"), std::string::npos);
}

TEST(PointInTimeTest, TrainingSetFloatsReadBackBitIdentical) {
  const TrainingRows rows = Join("user_id,ts,label\n1,150,1\n2,3700,0\n");
  absl::StatusOr<std::shared_ptr<const FeaturePipeline>> p =
      FeaturePipeline::Create(TestDefinition());
  ASSERT_TRUE(p.ok()) << p.status();
  const std::filesystem::path file = std::filesystem::temp_directory_path() / "pit_train.csv";
  ASSERT_TRUE(WriteTrainingSet(file, **p, rows).ok());
  std::ifstream in(file);
  std::string header, line;
  std::getline(in, header);
  EXPECT_EQ(header, "ts,label,purchases,scaled,hour");
  std::getline(in, line);
  std::vector<float> expected(3);
  ASSERT_TRUE((*p)->TransformRow(rows.raw.Row(0), expected).ok());
  std::stringstream fields(line);
  std::string field;
  std::getline(fields, field, ',');
  EXPECT_EQ(field, "150");
  std::getline(fields, field, ',');
  for (float want : expected) {
    std::getline(fields, field, ',');
    EXPECT_EQ(std::strtof(field.c_str(), nullptr), want) << line;
  }
  std::filesystem::remove(file);
}

TEST(SourceReaderTest, JsonLinesAndCsvReadTheSameValues) {
  const FeatureDefinition d = TestDefinition();
  const auto columns = TableSourceColumns(d, d.tables[0], "event_time");
  absl::StatusOr<SourceRows> json = ParseSource(
      "{\"user_id\":1,\"event_time\":200,\"purchases\":7,\"country\":\"fr\"}\n"
      "{\"user_id\":2,\"event_time\":150,\"purchases\":null,\"country\":\"\"}\n",
      SourceFormat::kJsonl, columns, "u.jsonl");
  ASSERT_TRUE(json.ok()) << json.status();
  const SourceRows csv =
      Parse("user_id,event_time,purchases,country\n1,200,7,fr\n2,150,,\n", columns);
  ASSERT_EQ(json->rows, 2u);
  EXPECT_EQ(json->columns, csv.columns);
  EXPECT_TRUE(IsMissing(csv.columns[2][1]));                // an empty number: missing
  EXPECT_EQ(std::get<std::string>(csv.columns[3][1]), "");  // an empty string: ""
}

TEST(SourceReaderTest, ABadFieldNamesTheFileLineAndColumn) {
  const FeatureDefinition d = TestDefinition();
  absl::StatusOr<SourceRows> rows =
      ParseSource("user_id,event_time,purchases,country\n1,200,seven,fr\n", SourceFormat::kCsv,
                  TableSourceColumns(d, d.tables[0], "event_time"), "users.csv");
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().message(),
            "users.csv line 2: column 'user_stats.purchases': 'seven' is not a FLOAT64");
}

}  // namespace
}  // namespace strata::features
