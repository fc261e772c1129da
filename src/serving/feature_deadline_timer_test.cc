#include "serving/feature_deadline_timer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <vector>

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

using Clock = FeatureDeadlineTimer::Clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(FeatureDeadlineTimerTest, FiresEachEntryOnceNotBeforeItsDeadlineInDeadlineOrder) {
  FeatureDeadlineTimer timer(milliseconds(1));
  const Clock::time_point start = Clock::now();
  std::mutex mutex;
  std::vector<int> order;
  std::vector<bool> early;
  std::promise<void> all;
  constexpr int kEntries = 20;
  for (int i = kEntries - 1; i >= 0; --i) {  // armed latest first
    const Clock::time_point deadline = start + milliseconds(2) + microseconds(300 * i);
    timer.At(deadline, [&, i, deadline] {
      std::lock_guard lock(mutex);
      early.push_back(Clock::now() < deadline);
      order.push_back(i);
      if (order.size() == kEntries) all.set_value();
    });
  }
  all.get_future().wait();
  std::lock_guard lock(mutex);
  std::vector<int> expected;
  for (int i = 0; i < kEntries; ++i) expected.push_back(i);
  EXPECT_EQ(order, expected);
  EXPECT_EQ(std::count(early.begin(), early.end(), true), 0);
}

TEST(FeatureDeadlineTimerTest, EntriesDueWithinTheSlackShareOneWakeUp) {
  // 200 deadlines 50 µs apart span 10 ms: one wake-up each without the
  // slack, at most one per 2 ms (plus the first and the last) with it.
  FeatureDeadlineTimer timer(milliseconds(2));
  const Clock::time_point start = Clock::now() + milliseconds(5);
  std::promise<void> all;
  std::atomic<int> fired = 0;
  constexpr int kEntries = 200;
  for (int i = 0; i < kEntries; ++i) {
    timer.At(start + microseconds(50 * i), [&] {
      if (++fired == kEntries) all.set_value();
    });
  }
  all.get_future().wait();
  EXPECT_EQ(fired.load(), kEntries);
  EXPECT_LE(timer.rounds(), 10u / 2 + 2);
  EXPECT_GE(timer.rounds(), 1u);
}

TEST(FeatureDeadlineTimerTest, AnEarlierEntryArmedLaterWakesTheThread) {
  FeatureDeadlineTimer timer(milliseconds(1));
  std::promise<void> late_fired, soon_fired;
  timer.At(Clock::now() + std::chrono::hours(1), [&] { late_fired.set_value(); });
  timer.At(Clock::now() + milliseconds(1), [&] { soon_fired.set_value(); });
  EXPECT_EQ(soon_fired.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(late_fired.get_future().wait_for(milliseconds(0)), std::future_status::timeout);
}

}  // namespace
}  // namespace strata::serving
