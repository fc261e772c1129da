// BodyBudget bounds the memory that all requests together hold in request
// bodies: the bytes buffered from the socket and the bytes inflated from a
// gzip or deflate body. A request holds a BodyReservation and grows it before
// its body grows; when the budget cannot cover the growth the request is
// refused (the REST frontend answers 503 with Retry-After) instead of the
// process growing without bound: 20 stalled 20 MB uploads once held 410 MB.
//
// Bodies of at most kAlwaysAdmittedBytes are admitted even when the budget is
// spent, and counted, so that large uploads never starve health checks and
// small inferences.
//
// BodyBudget is thread-safe. A BodyReservation is used by one thread at a
// time; the budget must outlive its reservations.
#ifndef STRATA_API_BODY_BUDGET_H_
#define STRATA_API_BODY_BUDGET_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>

namespace strata::api {

class BodyBudget {
 public:
  static constexpr size_t kAlwaysAdmittedBytes = 64 << 10;

  // Told of what the budget does (e.g. to keep metrics), on the thread
  // that did it; either may be empty.
  struct Observer {
    std::function<void(int64_t delta)> held_changed;  // bytes held changed
    std::function<void()> refused;                    // a growth was refused
  };

  explicit BodyBudget(size_t limit_bytes, Observer observer = {})
      : limit_(limit_bytes), observer_(std::move(observer)) {}

  size_t limit() const { return limit_; }
  size_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  friend class BodyReservation;
  // Takes `extra` bytes for a reservation that holds `held` already.
  bool TryAcquire(size_t held, size_t extra);
  void Release(size_t bytes);

  const size_t limit_;
  const Observer observer_;
  std::atomic<size_t> used_{0};
};

// Bytes of a BodyBudget held by one request; given back on destruction.
// A default-constructed reservation belongs to no budget and always grows.
class BodyReservation {
 public:
  BodyReservation() = default;
  explicit BodyReservation(BodyBudget& budget) : budget_(&budget) {}
  ~BodyReservation() { Reset(); }
  BodyReservation(BodyReservation&& other) noexcept;
  BodyReservation& operator=(BodyReservation&& other) noexcept;
  BodyReservation(const BodyReservation&) = delete;
  BodyReservation& operator=(const BodyReservation&) = delete;

  // Holds at least `total` bytes. False, holding what it held before, when
  // the budget cannot cover the growth.
  [[nodiscard]] bool GrowTo(size_t total);

  // Holds at most `total` bytes (gives back the rest).
  void ShrinkTo(size_t total);

  // Gives everything back.
  void Reset() { ShrinkTo(0); }

  size_t bytes() const { return bytes_; }
  // The budget's limit; 0 when the reservation belongs to none.
  size_t budget_limit() const { return budget_ ? budget_->limit() : 0; }

 private:
  BodyBudget* budget_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace strata::api

#endif  // STRATA_API_BODY_BUDGET_H_
