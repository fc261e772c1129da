// ShadowAdmission decides, on the request's thread and before any copy is
// made, whether a request is mirrored to its shadow: only while the primary
// has spare capacity (few of the endpoint's requests in flight) and the
// shadow's calls stay within a CPU budget (a share of one core, with a
// burst). At saturation the copies are shed, counted by reason, instead of
// taking the primary's cores. It has no threads and no clock of its own: the
// caller passes `now`, so tests drive it with any time they like.
// Thread-safe and lock-free: Decide() from any thread, Charge() from one
// thread at a time (the shadow queue's).
#ifndef STRATA_SERVING_EXPERIMENT_SHADOW_ADMISSION_H_
#define STRATA_SERVING_EXPERIMENT_SHADOW_ADMISSION_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace strata::serving {

struct ShadowAdmissionOptions {
  // A copy is made only while the endpoint has at most this many requests
  // in flight, the one offered included; 0: no limit.
  size_t max_in_flight = 1;
  // The shadow's calls take at most this share of one core's time, 0 to 1
  // (their wall time on the shadow's thread, which bounds their CPU); up to
  // `burst` of call time may be spent at once after a quiet spell.
  double cpu_share = 0.5;
  std::chrono::nanoseconds burst = std::chrono::milliseconds(10);
};

enum class ShadowDecision {
  kCopy,         // mirror the request
  kPrimaryBusy,  // shed: too many of the endpoint's requests in flight
  kOverBudget,   // shed: the shadow has used its CPU share
};

class ShadowAdmission {
 public:
  using Clock = std::chrono::steady_clock;

  // `start` is when the budget starts filling (it starts full: one burst).
  ShadowAdmission(ShadowAdmissionOptions options, Clock::time_point start);

  // Whether a request arriving at `now`, with `in_flight` of the endpoint's
  // requests in flight (itself included), is copied.
  ShadowDecision Decide(Clock::time_point now, size_t in_flight) const;

  // A shadow call that ended at `now` took `took` of the shadow's thread.
  // REQUIRES: one caller at a time.
  void Charge(Clock::time_point now, std::chrono::nanoseconds took);

 private:
  // The call time the budget has allowed by `now`, in nanoseconds since
  // `start_`.
  double Allowed(Clock::time_point now) const;

  const ShadowAdmissionOptions options_;
  const Clock::time_point start_;
  // Call time charged so far, raised on each Charge() to at least
  // Allowed(now) - burst, so that quiet spells bank one burst at most.
  std::atomic<double> used_ns_{0};
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXPERIMENT_SHADOW_ADMISSION_H_
