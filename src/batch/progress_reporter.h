// ProgressReporter shows a batch job's progress on stderr: a bar redrawn in
// place on a terminal (rows, rows/s, percent and ETA when the input size is
// known), plain periodic lines otherwise. It samples the job's counters on
// its own thread; Start() and Stop() from one thread.
#ifndef STRATA_BATCH_PROGRESS_REPORTER_H_
#define STRATA_BATCH_PROGRESS_REPORTER_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

#include "core/mutex.h"

namespace strata::batch {

struct ProgressSnapshot {
  int64_t rows = 0;         // rows done by this run
  int64_t bytes = 0;        // input bytes read
  int64_t total_bytes = 0;  // 0 when unknown (stdin)
};

enum class ProgressMode { kAuto, kBar, kLines, kOff };

class ProgressReporter {
 public:
  ProgressReporter(ProgressMode mode, double interval_seconds, std::FILE* out = stderr);
  ~ProgressReporter();

  void Start(std::function<ProgressSnapshot()> sample);
  // Draws a last time and stops.
  void Stop();

  // "1.2M rows in 3.4 s (350k rows/s)"-style line for a final summary.
  static std::string Rate(int64_t rows, double seconds);

 private:
  void Draw(bool final);

  ProgressMode mode_;
  double interval_seconds_;
  std::FILE* out_;
  std::function<ProgressSnapshot()> sample_;
  std::chrono::steady_clock::time_point start_;
  core::Mutex mutex_;
  core::CondVar wake_;
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace strata::batch

#endif  // STRATA_BATCH_PROGRESS_REPORTER_H_
