#include "batch/progress_reporter.h"

#include <unistd.h>

#include <chrono>

#include "fmt/format.h"

namespace strata::batch {

ProgressReporter::ProgressReporter(ProgressMode mode, double interval_seconds, std::FILE* out)
    : mode_(mode), interval_seconds_(interval_seconds), out_(out) {
  if (mode_ == ProgressMode::kAuto) {
    mode_ = ::isatty(::fileno(out_)) ? ProgressMode::kBar : ProgressMode::kLines;
  }
}

ProgressReporter::~ProgressReporter() { Stop(); }

void ProgressReporter::Start(std::function<ProgressSnapshot()> sample) {
  sample_ = std::move(sample);
  start_ = std::chrono::steady_clock::now();
  if (mode_ == ProgressMode::kOff) return;
  const double interval =
      mode_ == ProgressMode::kBar ? std::min(interval_seconds_, 0.25) : interval_seconds_;
  thread_ = std::thread([this, interval] {
    core::MutexLock lock(mutex_);
    while (!stop_) {
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::duration<double>(interval);
      while (!stop_ && wake_.WaitUntil(mutex_, deadline)) {
      }
      if (!stop_) Draw(false);
    }
  });
}

void ProgressReporter::Stop() {
  if (!thread_.joinable()) return;
  {
    core::MutexLock lock(mutex_);
    stop_ = true;
  }
  wake_.SignalAll();
  thread_.join();
  Draw(true);
}

std::string ProgressReporter::Rate(int64_t rows, double seconds) {
  return fmt::format("{} rows in {:.1f} s ({:.0f} rows/s)", rows, seconds,
                     seconds > 0 ? rows / seconds : 0.0);
}

void ProgressReporter::Draw(bool final) {
  const ProgressSnapshot s = sample_();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? s.rows / elapsed : 0;
  const double fraction = s.total_bytes > 0 ? std::min(1.0, double(s.bytes) / s.total_bytes) : -1;
  std::string eta;
  if (fraction > 0 && fraction < 1) {
    const int seconds = static_cast<int>(elapsed / fraction - elapsed);
    eta = fmt::format(" ETA {}:{:02}", seconds / 60, seconds % 60);
  }
  if (mode_ == ProgressMode::kBar) {
    std::string bar;
    if (fraction >= 0) {
      constexpr int kWidth = 30;
      const int filled = static_cast<int>(fraction * kWidth);
      bar = fmt::format("[{}{}] {:3.0f}% ", std::string(filled, '#'),
                        std::string(kWidth - filled, '.'), fraction * 100);
    }
    fmt::print(out_, "\r{}{} rows  {:.0f} rows/s{}\x1b[K{}", bar, s.rows, rate, eta,
               final ? "\n" : "");
  } else if (!final) {
    fmt::print(out_, "progress: {} rows, {:.0f} rows/s{}{}\n", s.rows, rate,
               fraction >= 0 ? fmt::format(", {:.0f}%", fraction * 100) : "", eta);
  }
  std::fflush(out_);
}

}  // namespace strata::batch
