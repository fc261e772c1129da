// GrpcServer is the gRPC frontend: HTTP/2 on its own port, serving
// GrpcInferenceService with gRPC's callback API and server reflection (so
// generic tools such as grpcurl can discover the service). A call of any
// other method (Triton's ModelStreamInfer, shared memory, ...) is answered
// UNIMPLEMENTED with a message naming it. Request
// compression (gzip, deflate) is gRPC's own. It owns the listening socket (accepted by
// GrpcAcceptor, which survives running out of descriptors) and the service; every answer comes from
// the ServerCore, which must outlive it. Start() from one thread; Shutdown() from any, at most once
// at a time.
#ifndef STRATA_API_GRPC_SERVER_H_
#define STRATA_API_GRPC_SERVER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "api/access_guard.h"
#include "api/audit_log.h"
#include "api/payload_log.h"
#include "api/tls_server_context.h"
#include "serving/rollout/rollout_control.h"
#include "serving/server_core.h"
#include "serving/server_metrics.h"

namespace grpc {
class CallbackGenericService;
class Server;
class Service;
}  // namespace grpc

namespace strata::api {

class GrpcAcceptor;
class GrpcInferenceService;

struct GrpcServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8001;                 // 0 picks a free port; see GrpcServer::port()
  size_t max_message_bytes = 64 << 20;  // larger requests: RESOURCE_EXHAUSTED
  std::chrono::milliseconds drain_timeout{30000};
  bool control_api = false;            // RepositoryIndex, RepositoryModelLoad/Unload
  bool control_on_admin_port = false;  // see GrpcServiceOptions
  // Where accept pauses are counted (strata_http_accept_pauses_total, shared
  // with the REST frontend); null: not counted. Must outlive the server.
  serving::ServerMetrics* metrics = nullptr;
  // TLS (and mutual TLS with tls.client_ca) from the same files as REST,
  // watched by gRPC's FileWatcherCertificateProvider every
  // tls_reload_seconds: new handshakes use a changed certificate. With TLS
  // the port is gRPC's own (grpc 1.51 hands accepted descriptors only to
  // insecure servers), so GrpcAcceptor's recovery from running out of
  // descriptors applies to plain gRPC only.
  TlsFiles tls = {};
  unsigned int tls_reload_seconds = 1;
  // API keys and rate limits (`authorization` metadata); null: open. With
  // keys, server reflection is off: it would list the services to callers
  // without a key (grpc 1.51 gives no hook to check one on its calls).
  const AccessGuard* guard = nullptr;
  // A sample of inference calls, redacted per field; null: none.
  std::shared_ptr<PayloadLog> payload_log = nullptr;
  // strata.control.v1.Rollouts (api/grpc_rollout_service.h): the rollouts
  // (null: none) and the audit log of its calls (null: none).
  serving::RolloutControl* rollouts = nullptr;
  std::shared_ptr<AuditLog> audit_log = nullptr;
};

class GrpcServer {
 public:
  // Binds, listens and starts serving; error when the address is unusable.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(const GrpcServerOptions& options,
                                                           serving::ServerCore& core);
  // Shuts down (see Shutdown) if that has not happened yet.
  ~GrpcServer();

  uint16_t port() const { return port_; }

  // Stops accepting calls, lets in-flight calls finish for at most
  // drain_timeout, cancels the rest, and returns once none is left.
  void Shutdown();

 private:
  GrpcServer(GrpcServerOptions options, std::unique_ptr<GrpcInferenceService> service);

  const GrpcServerOptions options_;
  std::unique_ptr<GrpcInferenceService> service_;
  std::unique_ptr<grpc::Service> rollout_service_;  // strata.control.v1.Rollouts
  // Answers every method the service does not have: UNIMPLEMENTED, naming it.
  std::unique_ptr<grpc::CallbackGenericService> unsupported_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<GrpcAcceptor> acceptor_;  // the port's connections
  uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace strata::api

#endif  // STRATA_API_GRPC_SERVER_H_
