#include "api/grpc_acceptor.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "api/accept_backoff.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace strata::api {
namespace {

bool IsShortage(int error) {
  return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

// A listening socket bound to the first usable address of host:port, or -1.
int BindListener(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found) != 0) {
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    // SO_REUSEADDR (not SO_REUSEPORT): a second server on a busy port fails.
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  return fd;
}

uint16_t BoundPort(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
}

uint64_t DescriptorLimit() {
  rlimit limit{};
  return getrlimit(RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : 0;
}

void LogFailure(int error, const AcceptBackoff::Decision& decision) {
  spdlog::warn(
      "gRPC accept failed: {}{}{}", std::strerror(error),
      decision.failures > 1 ? fmt::format(" ({} times since the last such line)", decision.failures)
                            : std::string(),
      IsShortage(error) ? fmt::format("; the open-file limit is {} (ulimit -n); new connections "
                                      "wait while accepts pause for up to {} ms",
                                      DescriptorLimit(), AcceptBackoff::kMaxPause.count())
                        : std::string());
}

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcAcceptor>> GrpcAcceptor::Listen(const std::string& host,
                                                                   uint16_t port) {
  const int listen_fd = BindListener(host, port);
  if (listen_fd < 0) {
    return absl::UnavailableError(fmt::format(
        "cannot listen for gRPC on {}:{}: the address is in use or invalid", host, port));
  }
  const int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    close(listen_fd);
    return absl::InternalError(fmt::format("eventfd: {}", std::strerror(errno)));
  }
  return std::unique_ptr<GrpcAcceptor>(new GrpcAcceptor(listen_fd, wake_fd, BoundPort(listen_fd)));
}

GrpcAcceptor::~GrpcAcceptor() {
  Stop();
  close(wake_fd_);
}

void GrpcAcceptor::Start(Handoff handoff, OnPause on_pause) {
  thread_ = std::thread([this, handoff = std::move(handoff), on_pause = std::move(on_pause)] {
    Run(handoff, on_pause);
  });
}

void GrpcAcceptor::Stop() {
  if (listen_fd_ < 0) return;
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  listen_fd_ = -1;
}

bool GrpcAcceptor::Wait(bool for_socket, int timeout_ms) const {
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
  const int ready = poll(fds, for_socket ? 2 : 1, timeout_ms);
  return !(ready > 0 && (fds[0].revents & POLLIN));
}

void GrpcAcceptor::Run(const Handoff& handoff, const OnPause& on_pause) {
  AcceptBackoff backoff;
  while (Wait(/*for_socket=*/true, -1)) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      backoff.OnSuccess();
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      handoff(fd);
      continue;
    }
    const int error = errno;
    if (error == EAGAIN || error == EWOULDBLOCK || error == EINTR) continue;
    const AcceptBackoff::Decision decision =
        backoff.OnFailure(AcceptBackoff::Clock::now(), IsShortage(error));
    if (decision.log) LogFailure(error, decision);
    if (decision.pause.count() == 0) continue;
    if (on_pause) on_pause();
    if (!Wait(/*for_socket=*/false, static_cast<int>(decision.pause.count()))) return;
  }
}

}  // namespace strata::api
