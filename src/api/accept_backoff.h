// AcceptBackoff decides what the REST acceptor does after accept() fails:
// how long to pause before the next try, and whether the failure gets a log
// line. Retrying at once is right for an error of one connection (the
// client reset it), but not when the process is out of file descriptors or
// buffers: the listening socket stays readable, so the acceptor spun a whole
// core and logged 531 MB of "Too many open files" in six seconds. Then it
// pauses, from kFirstPause doubling to kMaxPause, and tries again; the first
// accept that succeeds resets the pause. Log lines are at most one per
// kLogInterval, each saying how many failures it stands for.
//
// A pure decision object handed `now`: no clock, no threads. Not thread-safe
// (the acceptor uses it from one thread).
#ifndef STRATA_API_ACCEPT_BACKOFF_H_
#define STRATA_API_ACCEPT_BACKOFF_H_

#include <chrono>
#include <cstdint>
#include <optional>

namespace strata::api {

class AcceptBackoff {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kFirstPause{2};
  static constexpr std::chrono::milliseconds kMaxPause{100};
  static constexpr std::chrono::seconds kLogInterval{10};

  struct Decision {
    // Wait this long before accepting again (zero: at once).
    std::chrono::milliseconds pause{0};
    // Log this failure, on behalf of `failures` failures (this one and
    // those not logged since the last line).
    bool log = false;
    uint64_t failures = 0;
  };

  // A failed accept at `now`; `out_of_resources` when the error was a lack
  // of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM).
  Decision OnFailure(Clock::time_point now, bool out_of_resources);

  // An accept succeeded: the next shortage pauses briefly again.
  void OnSuccess() { pause_ = std::chrono::milliseconds(0); }

 private:
  std::chrono::milliseconds pause_{0};
  std::optional<Clock::time_point> last_log_;
  uint64_t unlogged_ = 0;
};

}  // namespace strata::api

#endif  // STRATA_API_ACCEPT_BACKOFF_H_
