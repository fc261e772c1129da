#include "serving/circuit_breaker.h"

namespace strata::serving {

std::string_view BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

bool CircuitBreaker::WouldReject(Clock::time_point now) const {
  switch (state_) {
    case BreakerState::kClosed:
      return false;
    case BreakerState::kOpen:
      return now < retry_at_;
    case BreakerState::kHalfOpen:
      return probe_out_;
  }
  return false;
}

CircuitBreaker::Admission CircuitBreaker::Admit(Clock::time_point now) {
  if (state_ == BreakerState::kClosed) return Admission::kAllowed;
  if (WouldReject(now)) return Admission::kRejected;
  state_ = BreakerState::kHalfOpen;
  probe_out_ = true;
  return Admission::kProbe;
}

void CircuitBreaker::Record(Admission admission, bool ok, Clock::time_point started,
                            Clock::time_point now) {
  if (admission == Admission::kProbe && state_ == BreakerState::kHalfOpen) {
    probe_out_ = false;
    if (ok) {
      state_ = BreakerState::kClosed;
      failures_ = 0;
    } else {
      Open(now);
    }
    return;
  }
  if (admission != Admission::kAllowed || state_ != BreakerState::kClosed) return;
  if (ok) {
    failures_ = 0;
    return;
  }
  ++failures_;
  if (failures_ >= options_.max_failures || now - started >= options_.hang_after) Open(now);
}

void CircuitBreaker::Open(Clock::time_point now) {
  state_ = BreakerState::kOpen;
  retry_at_ = now + options_.open_for;
  failures_ = 0;
  probe_out_ = false;
}

}  // namespace strata::serving
