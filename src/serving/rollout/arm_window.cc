#include "serving/rollout/arm_window.h"

#include <algorithm>
#include <random>

namespace strata::serving {

ArmWindow::ArmWindow() {
  for (std::atomic<float>& s : samples_) s.store(-1, std::memory_order_relaxed);
}

void ArmWindow::Record(bool ok, double latency_ms) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  if (!ok) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const int64_t n = successes_.fetch_add(1, std::memory_order_relaxed);
  uint64_t slot = static_cast<uint64_t>(n);
  if (n >= static_cast<int64_t>(kReservoir)) {
    thread_local std::mt19937_64 random(std::random_device{}());
    slot = std::uniform_int_distribution<uint64_t>(0, static_cast<uint64_t>(n))(random);
  }
  if (slot < kReservoir) {
    samples_[slot].store(static_cast<float>(latency_ms), std::memory_order_relaxed);
  }
}

ArmWindowStats ArmWindow::Read() const {
  ArmWindowStats stats{.requests = requests_.load(std::memory_order_relaxed),
                       .errors = errors_.load(std::memory_order_relaxed),
                       .latency_ms = {}};
  const size_t n = static_cast<size_t>(
      std::min<int64_t>(successes_.load(std::memory_order_relaxed), kReservoir));
  stats.latency_ms.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const float v = samples_[i].load(std::memory_order_relaxed);
    if (v >= 0) stats.latency_ms.push_back(v);
  }
  return stats;
}

}  // namespace strata::serving
