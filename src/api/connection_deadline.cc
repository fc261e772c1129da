#include "api/connection_deadline.h"

#include "boost/asio/error.hpp"

namespace strata::api {

void ConnectionDeadline::Start(Clock::duration timeout) {
  deadline_ = Clock::now() + timeout;
  pending_ = true;
  if (!armed_ || deadline_ < timer_.expiry()) Arm();
}

void ConnectionDeadline::Arm() {
  armed_ = true;
  timer_.expires_at(deadline_);  // a wait already pending ends as aborted
  timer_.async_wait([this, owner = owner_](const boost::system::error_code& ec) {
    // Aborted: re-armed (a newer wait is pending) or destroyed with its
    // connection; either way this wait has nothing to do.
    if (ec == boost::asio::error::operation_aborted) return;
    const std::shared_ptr<const void> alive = owner.lock();
    if (alive) OnTimer();
  });
}

void ConnectionDeadline::OnTimer() {
  armed_ = false;
  if (!pending_) return;  // no operation in progress: the next Start arms
  if (Clock::now() < deadline_) return Arm();
  expired_ = true;
  on_expired_();
}

}  // namespace strata::api
