#include "api/accept_backoff.h"

#include "gtest/gtest.h"

namespace strata::api {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(AcceptBackoffTest, ShortagesPauseLongerEachTimeUpToTheMaximum) {
  AcceptBackoff backoff;
  const auto now = AcceptBackoff::Clock::time_point();
  EXPECT_EQ(backoff.OnFailure(now, true).pause, AcceptBackoff::kFirstPause);
  EXPECT_EQ(backoff.OnFailure(now, true).pause, 2 * AcceptBackoff::kFirstPause);
  for (int i = 0; i < 20; ++i) backoff.OnFailure(now, true);
  EXPECT_EQ(backoff.OnFailure(now, true).pause, AcceptBackoff::kMaxPause);
  backoff.OnSuccess();
  EXPECT_EQ(backoff.OnFailure(now, true).pause, AcceptBackoff::kFirstPause);
}

TEST(AcceptBackoffTest, AnErrorOfOneConnectionRetriesAtOnce) {
  AcceptBackoff backoff;
  EXPECT_EQ(backoff.OnFailure(AcceptBackoff::Clock::time_point(), false).pause, milliseconds(0));
}

TEST(AcceptBackoffTest, LogsOncePerIntervalCountingTheFailuresInBetween) {
  AcceptBackoff backoff;
  auto now = AcceptBackoff::Clock::time_point() + seconds(100);
  AcceptBackoff::Decision first = backoff.OnFailure(now, true);
  EXPECT_TRUE(first.log);
  EXPECT_EQ(first.failures, 1u);
  int logged = 0;
  for (int i = 0; i < 999; ++i) {
    now += milliseconds(5);  // 4.995 s in all
    logged += backoff.OnFailure(now, true).log;
  }
  EXPECT_EQ(logged, 0);
  now += AcceptBackoff::kLogInterval;
  AcceptBackoff::Decision next = backoff.OnFailure(now, true);
  EXPECT_TRUE(next.log);
  EXPECT_EQ(next.failures, 1000u);
}

}  // namespace
}  // namespace strata::api
