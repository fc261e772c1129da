#include "serving/experiment/prediction_log.h"

#include <string>

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

using Clock = PredictionLog::Clock;
using std::chrono::seconds;

PredictionRecord Record(size_t rows, size_t width = 1) {
  PredictionRecord r{.arm = "a", .version = "1", .scores = {}};
  r.scores.rows = rows;
  r.scores.width = width;
  r.scores.values.assign(rows * width, 0.5);
  return r;
}

TEST(PredictionLogTest, EvictsTheOldestBeyondRetention) {
  PredictionLog log({.retention = 3});
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < 5; ++i) log.Record("id" + std::to_string(i), Record(1), t0);
  EXPECT_EQ(log.size(), 3u);
  EXPECT_EQ(log.evicted(), 2u);
  EXPECT_EQ(log.Find("id0", t0), nullptr);
  EXPECT_EQ(log.Find("id1", t0), nullptr);
  ASSERT_NE(log.Find("id2", t0), nullptr);
  EXPECT_EQ(log.Find("id4", t0)->arm, "a");
}

TEST(PredictionLogTest, ForgetsPredictionsOlderThanMaxAge) {
  PredictionLog log({.retention = 100, .max_age = seconds(10)});
  const Clock::time_point t0 = Clock::now();
  log.Record("old", Record(1), t0);
  log.Record("new", Record(1), t0 + seconds(6));
  EXPECT_NE(log.Find("old", t0 + seconds(10)), nullptr);
  EXPECT_EQ(log.Find("old", t0 + seconds(11)), nullptr);
  EXPECT_NE(log.Find("new", t0 + seconds(11)), nullptr);
  EXPECT_EQ(log.size(), 1u);
}

TEST(PredictionLogTest, BoundsIdsRowsAndWidth) {
  PredictionLog log({.retention = 10, .max_id_bytes = 8, .max_rows = 4, .max_width = 3});
  const Clock::time_point t0 = Clock::now();
  EXPECT_EQ(log.Record(std::string(9, 'x'), Record(1), t0), RecordOutcome::kIdTooLong);
  EXPECT_EQ(log.Record("wide", Record(1, 4), t0), RecordOutcome::kTooWide);
  EXPECT_EQ(log.Record("many", Record(100, 2), t0), RecordOutcome::kKept);
  const PredictionRecord* kept = log.Find("many", t0);
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->scores.rows, 4u);
  EXPECT_EQ(kept->scores.values.size(), 8u);
  EXPECT_EQ(log.size(), 1u);
}

// A client repeating one id must not grow the eviction order without bound.
TEST(PredictionLogTest, RepeatedIdKeepsOneEntryAndABoundedOrder) {
  PredictionLog log({.retention = 2});
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < 1000; ++i) log.Record("same", Record(1), t0);
  EXPECT_EQ(log.size(), 1u);
  EXPECT_NE(log.Find("same", t0), nullptr);
  log.Record("other", Record(1), t0);
  EXPECT_NE(log.Find("same", t0), nullptr);
  EXPECT_NE(log.Find("other", t0), nullptr);
}

}  // namespace
}  // namespace strata::serving
