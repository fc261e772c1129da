#include "api/accept_backoff.h"

#include <algorithm>

namespace strata::api {

AcceptBackoff::Decision AcceptBackoff::OnFailure(Clock::time_point now, bool out_of_resources) {
  Decision decision;
  if (out_of_resources) {
    pause_ = pause_.count() == 0 ? kFirstPause : std::min(2 * pause_, kMaxPause);
    decision.pause = pause_;
  }
  ++unlogged_;
  if (!last_log_ || now - *last_log_ >= kLogInterval) {
    decision.log = true;
    decision.failures = unlogged_;
    unlogged_ = 0;
    last_log_ = now;
  }
  return decision;
}

}  // namespace strata::api
