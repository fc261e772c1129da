#include "api/body_budget.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace strata::api {
namespace {

constexpr size_t kMiB = 1 << 20;

TEST(BodyBudgetTest, RefusesGrowthBeyondTheLimitAndKeepsWhatWasHeld) {
  BodyBudget budget(10 * kMiB);
  BodyReservation a(budget), b(budget);
  ASSERT_TRUE(a.GrowTo(6 * kMiB));
  EXPECT_FALSE(b.GrowTo(5 * kMiB));
  EXPECT_EQ(b.bytes(), 0u);
  ASSERT_TRUE(b.GrowTo(4 * kMiB));
  EXPECT_FALSE(b.GrowTo(4 * kMiB + 1));
  EXPECT_EQ(b.bytes(), 4 * kMiB);
  EXPECT_EQ(budget.used(), 10 * kMiB);
}

TEST(BodyBudgetTest, GivesBytesBackOnShrinkResetAndDestruction) {
  BodyBudget budget(10 * kMiB);
  {
    BodyReservation a(budget);
    ASSERT_TRUE(a.GrowTo(8 * kMiB));
    a.ShrinkTo(3 * kMiB);
    EXPECT_EQ(budget.used(), 3 * kMiB);
    BodyReservation moved = std::move(a);
    EXPECT_EQ(a.bytes(), 0u);
    EXPECT_EQ(budget.used(), 3 * kMiB);
    moved.Reset();
    EXPECT_EQ(budget.used(), 0u);
    ASSERT_TRUE(moved.GrowTo(kMiB));
  }
  EXPECT_EQ(budget.used(), 0u);
}

TEST(BodyBudgetTest, SmallBodiesAreAdmittedWhenTheBudgetIsSpent) {
  BodyBudget budget(kMiB);
  BodyReservation big(budget), small(budget), growing(budget);
  ASSERT_TRUE(big.GrowTo(kMiB));
  EXPECT_TRUE(small.GrowTo(BodyBudget::kAlwaysAdmittedBytes));
  EXPECT_EQ(budget.used(), kMiB + BodyBudget::kAlwaysAdmittedBytes);
  // Growth past the always-admitted size needs room again.
  EXPECT_FALSE(small.GrowTo(BodyBudget::kAlwaysAdmittedBytes + 1));
  EXPECT_FALSE(growing.GrowTo(BodyBudget::kAlwaysAdmittedBytes + 1));
}

TEST(BodyBudgetTest, ReportsEveryChangeAndRefusal) {
  int64_t gauge = 0;
  int refusals = 0;
  BodyBudget budget(kMiB, {.held_changed = [&gauge](int64_t delta) { gauge += delta; },
                           .refused = [&refusals] { ++refusals; }});
  BodyReservation a(budget);
  ASSERT_TRUE(a.GrowTo(1000));
  ASSERT_TRUE(a.GrowTo(5000));
  EXPECT_EQ(gauge, 5000);
  EXPECT_FALSE(a.GrowTo(2 * kMiB));
  EXPECT_EQ(gauge, 5000);
  EXPECT_EQ(refusals, 1);
  a.Reset();
  EXPECT_EQ(gauge, 0);
}

TEST(BodyBudgetTest, ConcurrentReservationsNeverOvercommit) {
  BodyBudget budget(64 * kMiB);
  std::vector<std::thread> threads;
  std::atomic<size_t> peak{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        BodyReservation r(budget);
        if (r.GrowTo(20 * kMiB)) {
          size_t used = budget.used();
          size_t seen = peak.load();
          while (used > seen && !peak.compare_exchange_weak(seen, used)) {
          }
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(peak.load(), 64 * kMiB);
  EXPECT_EQ(budget.used(), 0u);
}

}  // namespace
}  // namespace strata::api
