#include "api/auth/token_bucket.h"

#include <algorithm>

namespace strata::api::auth {

TokenBucket::TokenBucket(double rows_per_second, double burst, Clock::time_point now)
    : rate_(rows_per_second), burst_(burst), tokens_(burst), last_(now) {}

void TokenBucket::Refill(Clock::time_point now) {
  if (now <= last_) return;
  const double seconds = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + seconds * rate_);
  last_ = now;
}

TokenBucket::Clock::duration TokenBucket::TimeFor(double rows) const {
  if (rows <= 0) return Clock::duration(0);
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(rows / rate_));
}

TokenBucket::Decision TokenBucket::Take(double cost, Clock::time_point now) {
  Refill(now);
  Decision decision;
  if (cost <= tokens_) {
    tokens_ -= cost;
    decision.admitted = true;
  } else if (cost <= burst_ && rate_ > 0) {
    decision.retry_after = TimeFor(cost - tokens_);
  }
  decision.remaining = tokens_;
  decision.until_full = rate_ > 0 ? TimeFor(burst_ - tokens_) : Clock::duration(0);
  return decision;
}

void TokenBucket::Refund(double cost) { tokens_ = std::min(burst_, tokens_ + cost); }

void TokenBucket::Reconfigure(double rows_per_second, double burst, Clock::time_point now) {
  Refill(now);
  rate_ = rows_per_second;
  burst_ = burst;
  tokens_ = std::min(tokens_, burst_);
}

}  // namespace strata::api::auth
