// Reads this process's resource usage from /proc (Linux). Thread-safe.
#ifndef STRATA_SERVING_PROCESS_STATS_H_
#define STRATA_SERVING_PROCESS_STATS_H_

#include <cstdint>

namespace strata::serving {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  int64_t resident_bytes = 0;
  int64_t open_fds = 0;
  int64_t open_sockets = 0;
  int64_t threads = 0;
  double start_time_seconds = 0;  // since the Unix epoch
};

// Zeros for anything /proc does not tell.
ProcessStats ReadProcessStats();

}  // namespace strata::serving

#endif  // STRATA_SERVING_PROCESS_STATS_H_
