#include "serving/circuit_breaker.h"

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

using Admission = CircuitBreaker::Admission;
using std::chrono::milliseconds;
const CircuitBreaker::Clock::time_point kT0 =
    CircuitBreaker::Clock::time_point() + std::chrono::hours(1);

CircuitBreaker Breaker() {
  return CircuitBreaker(
      {.max_failures = 3, .hang_after = milliseconds(500), .open_for = milliseconds(1000)});
}

// One admitted call from `start` lasting `took`; returns its admission.
Admission Call(CircuitBreaker& b, bool ok, CircuitBreaker::Clock::time_point start,
               milliseconds took = milliseconds(1)) {
  const Admission a = b.Admit(start);
  if (a != Admission::kRejected) b.Record(a, ok, start, start + took);
  return a;
}

TEST(CircuitBreakerTest, ClosedAdmitsAndASuccessResetsTheFailureCount) {
  CircuitBreaker b = Breaker();
  EXPECT_EQ(Call(b, false, kT0), Admission::kAllowed);
  EXPECT_EQ(Call(b, false, kT0), Admission::kAllowed);
  EXPECT_EQ(Call(b, true, kT0), Admission::kAllowed);
  EXPECT_EQ(Call(b, false, kT0), Admission::kAllowed);
  EXPECT_EQ(Call(b, false, kT0), Admission::kAllowed);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
}

TEST(CircuitBreakerTest, OpensAfterConsecutiveFastFailures) {
  CircuitBreaker b = Breaker();
  for (int i = 0; i < 3; ++i) Call(b, false, kT0);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_EQ(b.retry_at(), kT0 + milliseconds(1001));
  EXPECT_TRUE(b.WouldReject(kT0 + milliseconds(1000)));
  EXPECT_EQ(b.Admit(kT0 + milliseconds(1000)), Admission::kRejected);
}

TEST(CircuitBreakerTest, OneHungCallOpensItAtOnce) {
  CircuitBreaker b = Breaker();
  Call(b, false, kT0, milliseconds(499));
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  Call(b, false, kT0, milliseconds(500));
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  // A slow success is no failure.
  CircuitBreaker slow = Breaker();
  Call(slow, true, kT0, milliseconds(900));
  EXPECT_EQ(slow.state(), BreakerState::kClosed);
}

TEST(CircuitBreakerTest, AfterTheCoolDownExactlyOneProbeGoes) {
  CircuitBreaker b = Breaker();
  Call(b, false, kT0,
       milliseconds(1000));  // opens at kT0 + 1 s, retry at kT0 + 2 s
  const auto retry = b.retry_at();
  EXPECT_FALSE(b.WouldReject(retry));
  EXPECT_EQ(b.Admit(retry), Admission::kProbe);
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  EXPECT_TRUE(b.WouldReject(retry));
  EXPECT_EQ(b.Admit(retry + milliseconds(5)), Admission::kRejected);
}

TEST(CircuitBreakerTest, ASuccessfulProbeCloses) {
  CircuitBreaker b = Breaker();
  Call(b, false, kT0, milliseconds(1000));
  const auto retry = b.retry_at();
  EXPECT_EQ(Call(b, true, retry), Admission::kProbe);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_EQ(b.Admit(retry), Admission::kAllowed);
}

TEST(CircuitBreakerTest, AFailedProbeReopensForAnotherCoolDown) {
  CircuitBreaker b = Breaker();
  Call(b, false, kT0, milliseconds(1000));
  const auto retry = b.retry_at();
  EXPECT_EQ(Call(b, false, retry, milliseconds(1000)), Admission::kProbe);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_EQ(b.retry_at(), retry + milliseconds(2000));
  EXPECT_EQ(b.Admit(retry + milliseconds(1999)), Admission::kRejected);
  EXPECT_EQ(b.Admit(retry + milliseconds(2000)), Admission::kProbe);
}

TEST(CircuitBreakerTest, LateOutcomesOfCallsAdmittedBeforeItOpenedChangeNothing) {
  CircuitBreaker b = Breaker();
  const Admission early = b.Admit(kT0);  // in flight while the store hangs
  Call(b, false, kT0, milliseconds(1000));
  ASSERT_EQ(b.state(), BreakerState::kOpen);
  b.Record(early, true, kT0, kT0 + milliseconds(1001));
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  // Half-open: only the probe decides.
  const auto retry = b.retry_at();
  const Admission probe = b.Admit(retry);
  b.Record(early, true, kT0, retry + milliseconds(1));
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  b.Record(probe, false, retry, retry + milliseconds(2));
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, StateNames) {
  EXPECT_EQ(BreakerStateName(BreakerState::kClosed), "closed");
  EXPECT_EQ(BreakerStateName(BreakerState::kOpen), "open");
  EXPECT_EQ(BreakerStateName(BreakerState::kHalfOpen), "half_open");
}

}  // namespace
}  // namespace strata::serving
