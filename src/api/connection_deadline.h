// ConnectionDeadline bounds how long one I/O operation of a connection (a
// TLS handshake, reading a request, writing an answer) may take, with one
// timer per connection that is rarely touched: starting an operation records
// its deadline, and the timer is re-armed only when that deadline is earlier
// than the one it waits for, or when it fires before the current deadline.
// When an operation is still in progress at its deadline, `on_expired` runs
// (the connection closes its socket, which ends the operation). Beast's
// tcp_stream instead starts and cancels a timer wait around every read and
// write: two timerfd_settime calls and two more handler runs per request.
// Used on the connection's thread only.
#ifndef STRATA_API_CONNECTION_DEADLINE_H_
#define STRATA_API_CONNECTION_DEADLINE_H_

#include <chrono>
#include <functional>
#include <memory>

#include "boost/asio/any_io_executor.hpp"
#include "boost/asio/steady_timer.hpp"

namespace strata::api {

class ConnectionDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  ConnectionDeadline(const boost::asio::any_io_executor& executor, std::function<void()> on_expired)
      : timer_(executor), on_expired_(std::move(on_expired)) {}

  // The connection that owns this object: the timer's handler does nothing
  // once it is gone. REQUIRES: called before the first Start().
  void Attach(std::weak_ptr<const void> owner) { owner_ = std::move(owner); }

  // An operation starts and must end within `timeout`.
  void Start(Clock::duration timeout);
  // The operation ended (successfully or not).
  void Finish() { pending_ = false; }
  // True once an operation outlived its deadline (on_expired has run).
  bool expired() const { return expired_; }

 private:
  void Arm();
  void OnTimer();

  boost::asio::steady_timer timer_;
  std::function<void()> on_expired_;
  std::weak_ptr<const void> owner_;
  Clock::time_point deadline_{};
  bool pending_ = false;  // an operation is in progress
  bool armed_ = false;    // a wait on timer_ is pending
  bool expired_ = false;
};

}  // namespace strata::api

#endif  // STRATA_API_CONNECTION_DEADLINE_H_
