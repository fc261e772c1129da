#include "serving/experiment/shadow_admission.h"

#include <algorithm>

namespace strata::serving {

ShadowAdmission::ShadowAdmission(ShadowAdmissionOptions options, Clock::time_point start)
    : options_(options), start_(start) {}

double ShadowAdmission::Allowed(Clock::time_point now) const {
  const auto elapsed = std::chrono::duration<double, std::nano>(now - start_).count();
  return options_.cpu_share * std::max(0.0, elapsed) + static_cast<double>(options_.burst.count());
}

ShadowDecision ShadowAdmission::Decide(Clock::time_point now, size_t in_flight) const {
  if (options_.max_in_flight > 0 && in_flight > options_.max_in_flight) {
    return ShadowDecision::kPrimaryBusy;
  }
  if (used_ns_.load(std::memory_order_relaxed) >= Allowed(now)) return ShadowDecision::kOverBudget;
  return ShadowDecision::kCopy;
}

void ShadowAdmission::Charge(Clock::time_point now, std::chrono::nanoseconds took) {
  const double floor = Allowed(now) - static_cast<double>(options_.burst.count());
  const double used = std::max(used_ns_.load(std::memory_order_relaxed), floor);
  used_ns_.store(used + static_cast<double>(took.count()), std::memory_order_relaxed);
}

}  // namespace strata::serving
