// The load check's client: an open-loop load at a fixed rate over a few
// keep-alive connections. Request j is due at start + j / rate whatever
// happened to earlier ones, and its latency is measured from when it was
// due, so a server that falls behind is charged for the wait (no
// coordinated omission). Bounded: nothing is sent after duration + 5 s.
#ifndef STRATA_CHECK_OPEN_LOOP_LOAD_H_
#define STRATA_CHECK_OPEN_LOOP_LOAD_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "check/check_target.h"

namespace strata::check {

struct LoadPlan {
  double rate = 200;  // requests per second
  std::chrono::milliseconds duration{5000};
  int connections = 4;
  std::chrono::milliseconds request_timeout{10000};
};

struct LoadOutcome {
  int64_t planned = 0;
  int64_t sent = 0;
  int64_t errors = 0;    // not answered 200, or not answered
  int64_t not_sent = 0;  // still due when the time bound passed
  std::string first_error;
  std::vector<double> latencies_ms;  // of the answered requests
  double seconds = 0;                // wall time of the run
};

// Sends the `bodies` in turn to the target's infer route. Blocks for about
// the plan's duration. Keeps every latency: the caller bounds rate x
// duration. REQUIRES: !bodies.empty(), rate > 0, connections > 0.
LoadOutcome RunOpenLoopLoad(const CheckTarget& target, const std::vector<std::string>& bodies,
                            const LoadPlan& plan);

// The q-quantile (0..1) of `values` by nearest rank; 0 when empty.
double Percentile(std::vector<double> values, double q);

}  // namespace strata::check

#endif  // STRATA_CHECK_OPEN_LOOP_LOAD_H_
