#include "serving/drain_sequence.h"

namespace strata::serving {

bool DrainSequence::Begin(Clock::time_point now) {
  if (phase_ == Phase::kServing) {
    phase_ = Phase::kDelaying;
    close_at_ = now + options_.delay;
    return true;
  }
  if (phase_ == Phase::kDelaying) close_at_ = now;
  return false;
}

DrainSequence::Decision DrainSequence::Next(Clock::time_point now, int in_flight) {
  Decision decision;
  if (phase_ == Phase::kDelaying) {
    if (now < close_at_) {
      decision.phase = phase_;
      decision.wake_at = close_at_;
      return decision;
    }
    phase_ = Phase::kFinishing;
    give_up_at_ = now + options_.timeout;
    decision.close_listeners = true;
  }
  if (phase_ == Phase::kFinishing) {
    if (in_flight > 0 && now < give_up_at_) {
      decision.phase = phase_;
      decision.wake_at = give_up_at_;
      return decision;
    }
    phase_ = Phase::kDone;
    decision.timed_out = in_flight > 0;
  }
  decision.phase = phase_;
  return decision;
}

}  // namespace strata::serving
