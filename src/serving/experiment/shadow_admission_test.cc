#include "serving/experiment/shadow_admission.h"

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using Clock = ShadowAdmission::Clock;

const Clock::time_point kStart = Clock::time_point() + std::chrono::hours(1);

// A copy is made while the primary has spare capacity and shed, as
// kPrimaryBusy, once more of the endpoint's requests are in flight.
TEST(ShadowAdmissionTest, ShedsWhenThePrimaryIsBusy) {
  const ShadowAdmission admission({.max_in_flight = 2}, kStart);
  EXPECT_EQ(admission.Decide(kStart, 1), ShadowDecision::kCopy);
  EXPECT_EQ(admission.Decide(kStart, 2), ShadowDecision::kCopy);
  EXPECT_EQ(admission.Decide(kStart, 3), ShadowDecision::kPrimaryBusy);
  EXPECT_EQ(admission.Decide(kStart, 32), ShadowDecision::kPrimaryBusy);
}

TEST(ShadowAdmissionTest, ZeroMaxInFlightIsNoLimit) {
  const ShadowAdmission admission({.max_in_flight = 0}, kStart);
  EXPECT_EQ(admission.Decide(kStart, 1000), ShadowDecision::kCopy);
}

// With a quarter of a core, 1 ms of shadow calls buys 4 ms of wall time: the
// copies are shed as kOverBudget until then, and copied again after.
TEST(ShadowAdmissionTest, KeepsTheShadowWithinItsCpuShare) {
  ShadowAdmission admission({.max_in_flight = 0, .cpu_share = 0.25, .burst = milliseconds(1)},
                            kStart);
  EXPECT_EQ(admission.Decide(kStart, 1), ShadowDecision::kCopy);  // the budget starts full
  admission.Charge(kStart, milliseconds(2));                      // one burst (1 ms) and 1 ms more
  EXPECT_EQ(admission.Decide(kStart, 1), ShadowDecision::kOverBudget);
  EXPECT_EQ(admission.Decide(kStart + microseconds(3900), 1), ShadowDecision::kOverBudget);
  EXPECT_EQ(admission.Decide(kStart + microseconds(4100), 1), ShadowDecision::kCopy);
}

// A quiet spell banks one burst at most: after an hour without copies, the
// shadow may spend one burst, not an hour's share, before it is shed.
TEST(ShadowAdmissionTest, AQuietSpellBanksOneBurstAtMost) {
  ShadowAdmission admission({.max_in_flight = 0, .cpu_share = 0.5, .burst = milliseconds(10)},
                            kStart);
  const Clock::time_point later = kStart + std::chrono::hours(1);
  ASSERT_EQ(admission.Decide(later, 1), ShadowDecision::kCopy);
  admission.Charge(later, milliseconds(9));
  EXPECT_EQ(admission.Decide(later, 1), ShadowDecision::kCopy);  // 1 ms of the burst left
  admission.Charge(later, milliseconds(2));
  EXPECT_EQ(admission.Decide(later, 1), ShadowDecision::kOverBudget);
  // 1 ms over: 2 ms of wall time at half a core pays it back.
  EXPECT_EQ(admission.Decide(later + microseconds(1900), 1), ShadowDecision::kOverBudget);
  EXPECT_EQ(admission.Decide(later + microseconds(2100), 1), ShadowDecision::kCopy);
}

// Busy is judged before the budget: a saturated primary sheds as busy even
// when the budget is spent, so the counter says the primary was the reason.
TEST(ShadowAdmissionTest, BusyIsTheReasonBeforeTheBudget) {
  ShadowAdmission admission({.max_in_flight = 1, .cpu_share = 0.1, .burst = milliseconds(1)},
                            kStart);
  admission.Charge(kStart, milliseconds(5));
  EXPECT_EQ(admission.Decide(kStart, 2), ShadowDecision::kPrimaryBusy);
  EXPECT_EQ(admission.Decide(kStart, 1), ShadowDecision::kOverBudget);
}

}  // namespace
}  // namespace strata::serving
