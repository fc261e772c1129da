// TokenBucket decides whether a request of `cost` rows may run now: the
// bucket holds at most `burst` rows and refills at `rows_per_second`. Like
// serving/batch_queue.h it has no clock: the caller passes `now`, so tests
// drive it with any time. Not thread-safe; RateLimiter guards its
// buckets with a mutex.
#ifndef STRATA_API_AUTH_TOKEN_BUCKET_H_
#define STRATA_API_AUTH_TOKEN_BUCKET_H_

#include <chrono>
#include <optional>

namespace strata::api::auth {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts full.
  TokenBucket(double rows_per_second, double burst, Clock::time_point now);

  struct Decision {
    bool admitted = false;
    double remaining = 0;  // rows left in the bucket after this decision
    // Refused: when the same request could be admitted (nullopt: never at
    // this limit, since it costs more than the burst or the rate is 0).
    std::optional<Clock::duration> retry_after;
    Clock::duration until_full{0};  // when the bucket is full again
  };

  // Takes `cost` rows if the bucket holds them; a refused request takes
  // nothing.
  Decision Take(double cost, Clock::time_point now);

  // Gives back `cost` rows a Take admitted at the same `now` (another limit
  // refused the request).
  void Refund(double cost);

  // A new limit (the keys file changed): the rows held are kept, up to the
  // new burst.
  void Reconfigure(double rows_per_second, double burst, Clock::time_point now);

  double rows_per_second() const { return rate_; }
  double burst() const { return burst_; }

 private:
  void Refill(Clock::time_point now);
  Clock::duration TimeFor(double rows) const;

  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace strata::api::auth

#endif  // STRATA_API_AUTH_TOKEN_BUCKET_H_
