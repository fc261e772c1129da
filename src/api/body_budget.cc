#include "api/body_budget.h"

#include <utility>

namespace strata::api {

bool BodyBudget::TryAcquire(size_t held, size_t extra) {
  if (held + extra <= kAlwaysAdmittedBytes) {
    used_.fetch_add(extra, std::memory_order_relaxed);
  } else {
    size_t used = used_.load(std::memory_order_relaxed);
    do {
      if (used + extra > limit_) {
        if (observer_.refused) observer_.refused();
        return false;
      }
    } while (!used_.compare_exchange_weak(used, used + extra, std::memory_order_relaxed));
  }
  if (observer_.held_changed) observer_.held_changed(static_cast<int64_t>(extra));
  return true;
}

void BodyBudget::Release(size_t bytes) {
  used_.fetch_sub(bytes, std::memory_order_relaxed);
  if (observer_.held_changed) observer_.held_changed(-static_cast<int64_t>(bytes));
}

BodyReservation::BodyReservation(BodyReservation&& other) noexcept
    : budget_(other.budget_), bytes_(std::exchange(other.bytes_, 0)) {}

BodyReservation& BodyReservation::operator=(BodyReservation&& other) noexcept {
  if (this != &other) {
    Reset();
    budget_ = other.budget_;
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

bool BodyReservation::GrowTo(size_t total) {
  if (total <= bytes_) return true;
  if (budget_ != nullptr && !budget_->TryAcquire(bytes_, total - bytes_)) return false;
  bytes_ = total;
  return true;
}

void BodyReservation::ShrinkTo(size_t total) {
  if (total >= bytes_) return;
  if (budget_ != nullptr) budget_->Release(bytes_ - total);
  bytes_ = total;
}

}  // namespace strata::api
