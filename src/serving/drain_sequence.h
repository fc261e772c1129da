// DrainSequence decides what a server that was asked to stop (SIGTERM) does
// next, so that load balancers move traffic away before anything closes:
//
//   serving ── Begin ──> delaying ── delay ──> finishing ── none in flight ──> done
//                        (not ready,           (listeners closed,    or timeout
//                         still serving)        in-flight requests
//                                               finish)
//
// A second Begin (a second signal) ends the delay at once. It has no
// threads and no clock: the caller passes `now`, so tests drive it with any
// time they like. Not thread-safe; RestServer uses it on one thread.
#ifndef STRATA_SERVING_DRAIN_SEQUENCE_H_
#define STRATA_SERVING_DRAIN_SEQUENCE_H_

#include <chrono>
#include <optional>

namespace strata::serving {

struct DrainSequenceOptions {
  // How long the server goes on serving, not ready, before its listeners
  // close (`--drain-delay`).
  std::chrono::milliseconds delay{0};
  // How long in-flight requests may take to finish once the listeners have
  // closed (`--drain-timeout`).
  std::chrono::milliseconds timeout{30000};
};

class DrainSequence {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Phase { kServing, kDelaying, kFinishing, kDone };

  struct Decision {
    Phase phase = Phase::kServing;
    // True exactly once: the listeners close now.
    bool close_listeners = false;
    // When to decide again at the latest (nullopt: serving or done). While
    // finishing, decide again as requests finish, or at this deadline.
    std::optional<Clock::time_point> wake_at;
    // Done with requests still in flight: the timeout cut them off.
    bool timed_out = false;
  };

  explicit DrainSequence(DrainSequenceOptions options) : options_(options) {}

  // The stop was asked for now. Returns true the first time; a second call
  // ends the delay (the next Next() closes the listeners).
  bool Begin(Clock::time_point now);

  // What to do as of `now`, with `in_flight` requests being answered.
  Decision Next(Clock::time_point now, int in_flight);

  Phase phase() const { return phase_; }

 private:
  const DrainSequenceOptions options_;
  Phase phase_ = Phase::kServing;
  Clock::time_point close_at_;    // the end of the delay
  Clock::time_point give_up_at_;  // the end of the timeout, once closing
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_DRAIN_SEQUENCE_H_
