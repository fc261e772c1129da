// GrpcAcceptor owns the gRPC port's listening socket and accepts its
// connections itself, handing each to the gRPC server
// (grpc::AddInsecureChannelFromFd). gRPC 1.51's own acceptor (Debian 12's)
// stops accepting for good after its first EMFILE (grpc/grpc#20418, fixed in
// 1.57), so a server that ran out of file descriptors once never took a new
// gRPC connection again. This acceptor pauses on a shortage of descriptors
// or memory, as the REST one does (AcceptBackoff), and recovers when they
// free up.
//
// One thread of its own. Start() once; Stop() (or the destructor) closes the
// socket and joins the thread; both from one thread.
#ifndef STRATA_API_GRPC_ACCEPTOR_H_
#define STRATA_API_GRPC_ACCEPTOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace strata::api {

class GrpcAcceptor {
 public:
  // Takes an accepted, non-blocking connection; owns it from then on.
  using Handoff = std::function<void(int fd)>;
  // Called each time accepting pauses for want of descriptors or memory.
  using OnPause = std::function<void()>;

  // Binds and listens on host:port (0 picks a free port). UNAVAILABLE when
  // the address is in use or invalid.
  static absl::StatusOr<std::unique_ptr<GrpcAcceptor>> Listen(const std::string& host,
                                                              uint16_t port);
  ~GrpcAcceptor();
  GrpcAcceptor(const GrpcAcceptor&) = delete;
  GrpcAcceptor& operator=(const GrpcAcceptor&) = delete;

  uint16_t port() const { return port_; }

  void Start(Handoff handoff, OnPause on_pause);
  // Stops accepting and closes the listening socket; connections already
  // handed off are the gRPC server's.
  void Stop();

 private:
  GrpcAcceptor(int listen_fd, int wake_fd, uint16_t port)
      : listen_fd_(listen_fd), wake_fd_(wake_fd), port_(port) {}
  void Run(const Handoff& handoff, const OnPause& on_pause);
  // Waits until the socket is readable (or `timeout_ms` passes; -1: no
  // limit); false once Stop() was called.
  bool Wait(bool for_socket, int timeout_ms) const;

  int listen_fd_;
  int wake_fd_;  // an eventfd Stop() writes to
  uint16_t port_;
  std::thread thread_;
};

}  // namespace strata::api

#endif  // STRATA_API_GRPC_ACCEPTOR_H_
