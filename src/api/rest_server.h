// RestServer is the HTTP/1.1 frontend: Boost.Beast on Asio, a pool of I/O
// threads, keep-alive, TCP_NODELAY, and the drain sequence on SIGTERM/SIGINT
// (serving/drain_sequence.h: not ready at once, serving on for the drain
// delay with `Connection: close`, then stop accepting, finish in-flight
// requests, return; a second signal ends the delay). It defends the
// process: a body limit per request (413, decided from Content-Length
// before the body is read), a memory budget for the bodies of all requests
// together (503), a timeout for a body that stops arriving (408),
// `Expect: 100-continue`, and an acceptor that backs off when the process
// runs out of file descriptors (docs/operations.md). It owns sockets only;
// every answer comes from a RestHandler.
// Start() and Run() are called from one thread; Shutdown() from any.
#ifndef STRATA_API_REST_SERVER_H_
#define STRATA_API_REST_SERVER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "api/rest_handler.h"
#include "api/tls_server_context.h"
#include "serving/server_metrics.h"

namespace strata::api {

struct RestServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;  // 0 picks a free port; see RestServer::port()
  int threads = 0;       // I/O threads; 0 means one per core
  size_t max_body_bytes = 64 << 20;
  // The request bodies of all connections together, as buffered and as
  // inflated; a request that would go beyond it is answered 503 with
  // Retry-After. At least max_body_bytes.
  size_t body_memory_budget = size_t{256} << 20;
  // A request body that stops arriving for this long is answered 408 and
  // its connection closed.
  std::chrono::milliseconds body_timeout{10000};
  std::chrono::seconds idle_timeout{60};
  // After a signal: serve on for drain_delay, then close the listener and
  // let in-flight requests finish for at most drain_timeout.
  std::chrono::milliseconds drain_delay{0};
  std::chrono::milliseconds drain_timeout{30000};
  // Called on the server's thread when the drain begins (readiness must
  // turn false), and when the listener closes (other frontends close
  // theirs). Each may be empty.
  std::function<void()> on_drain;
  std::function<void()> on_close;
  // One JSON line per request on stdout: method, path, status, latency,
  // model, version, sizes. Never the payload.
  bool access_log = false;
  // Where the defences are counted (/metrics); null: not counted. Must
  // outlive the server.
  serving::ServerMetrics* metrics = nullptr;
  // HTTPS on every listener when tls.cert is set; the files are looked at
  // every tls_reload_interval and a changed certificate is used by new
  // connections (api/tls_server_context.h).
  TlsFiles tls = {};
  std::chrono::milliseconds tls_reload_interval{1000};
  // The admin listener's port, when Start() is given an admin handler (0
  // picks a free port; see RestServer::admin_port()).
  uint16_t admin_port = 0;
};

class RestServer {
 public:
  // Binds and listens; error when the address is unusable or the TLS files
  // cannot be used. With `admin_handler`, a second listener on admin_port
  // answers with it (RestListener::kAdmin).
  static absl::StatusOr<std::unique_ptr<RestServer>> Start(
      const RestServerOptions& options, const RestHandler& handler,
      const RestHandler* admin_handler = nullptr);
  ~RestServer();

  uint16_t port() const;
  std::optional<uint16_t> admin_port() const;

  // Serves until SIGINT/SIGTERM or Shutdown(), then drains (the delay,
  // then in-flight requests for at most drain_timeout) and returns.
  void Run();

  // Begins the drain sequence without its delay; Run() returns once it is
  // done.
  void Shutdown();

  class Impl;

 private:
  explicit RestServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::api

#endif  // STRATA_API_REST_SERVER_H_
