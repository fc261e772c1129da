// CircuitBreaker decides whether a call to one store (a Redis server) may go
// ahead, from the outcomes of the calls before it. Closed: calls go ahead.
// Open: calls fail fast, without touching the store, for `open_for`. Then
// half-open: exactly one call (the probe) goes ahead; its success closes
// the breaker, its failure opens it for another `open_for`.
//
// A closed breaker opens after `max_failures` consecutive failures, or at
// once after one failed call that took at least `hang_after` (a store that
// stopped answering: the call ran into its timeout).
//
// Like BatchQueue it has no threads and no clock: callers pass `now`, so
// tests drive it with any time they like. Not thread-safe; GuardedTableStore
// guards it with a mutex.
#ifndef STRATA_SERVING_CIRCUIT_BREAKER_H_
#define STRATA_SERVING_CIRCUIT_BREAKER_H_

#include <chrono>
#include <string_view>

namespace strata::serving {

enum class BreakerState { kClosed, kOpen, kHalfOpen };

// "closed", "open", "half_open".
std::string_view BreakerStateName(BreakerState state);

struct CircuitBreakerOptions {
  int max_failures = 3;  // consecutive failures that open a closed breaker
  std::chrono::steady_clock::duration hang_after = std::chrono::milliseconds(500);
  std::chrono::steady_clock::duration open_for = std::chrono::seconds(1);
};

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;

  // What Admit() allows; handed back to Record() with the call's outcome.
  enum class Admission { kRejected, kAllowed, kProbe };

  explicit CircuitBreaker(CircuitBreakerOptions options) : options_(options) {}

  // Whether a call may start at `now`. Moves an open breaker whose
  // cool-down is over to half-open and admits that call as the probe.
  Admission Admit(Clock::time_point now);

  // True when Admit(now) would reject, without changing anything: callers
  // use it to fail fast before queueing a call.
  bool WouldReject(Clock::time_point now) const;

  // The outcome of a call Admit() allowed, which started at `started` and
  // ended at `now`. Outcomes of calls admitted before the breaker opened
  // change nothing; only the probe decides a half-open breaker.
  void Record(Admission admission, bool ok, Clock::time_point started, Clock::time_point now);

  BreakerState state() const { return state_; }
  // When an open breaker lets its probe through.
  Clock::time_point retry_at() const { return retry_at_; }

 private:
  void Open(Clock::time_point now);

  CircuitBreakerOptions options_;
  BreakerState state_ = BreakerState::kClosed;
  int failures_ = 0;  // consecutive, while closed
  Clock::time_point retry_at_{};
  bool probe_out_ = false;  // half-open: the probe has been admitted
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_CIRCUIT_BREAKER_H_
