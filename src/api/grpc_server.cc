#include "api/grpc_server.h"

#include <limits>

#include "api/grpc_acceptor.h"
#include "api/grpc_inference_service.h"
#include "api/grpc_rollout_service.h"
#include "fmt/format.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/server_posix.h"

namespace strata::api {
namespace {

// "host:port", with IPv6 literals in brackets.
std::string Address(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos && !host.starts_with('[')) {
    return fmt::format("[{}]:{}", host, port);
  }
  return fmt::format("{}:{}", host, port);
}

// Every method no registered service has: answered UNIMPLEMENTED, naming
// the method and the RPCs strata does serve (gRPC's default is an empty
// message).
class UnsupportedMethods final : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    class Reactor final : public grpc::ServerGenericBidiReactor {
     public:
      explicit Reactor(const std::string& method) {
        if (method.starts_with("/grpc.reflection.")) {
          Finish(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                              "gRPC server reflection is off while API keys are on "
                              "(--keys-file): it would describe the services to callers "
                              "without a key; use proto/inference.proto"));
          return;
        }
        Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                            fmt::format("strata does not support the RPC {}; it serves "
                                        "inference.GRPCInferenceService/{{{}}}",
                                        method, ServedRpcNames())));
      }
      void OnDone() override { delete this; }
    };
    return new Reactor(context->method());
  }
};

// Takes server reflection out of this server: the reflection library adds
// its plugin to every server at static initialization.
class NoReflectionOption final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    std::erase_if(*plugins, [](const std::unique_ptr<grpc::ServerBuilderPlugin>& plugin) {
      return plugin->name() == grpc::reflection::ProtoServerReflectionPlugin().name();
    });
  }
};

// TLS server credentials that follow the files: gRPC's file watcher reads
// them again every `reload_seconds`.
std::shared_ptr<grpc::ServerCredentials> TlsCredentials(const TlsFiles& files,
                                                        unsigned int reload_seconds) {
  namespace ex = grpc::experimental;
  auto provider = files.client_ca.empty()
                      ? std::make_shared<ex::FileWatcherCertificateProvider>(
                            files.key, files.cert, std::max(1u, reload_seconds))
                      : std::make_shared<ex::FileWatcherCertificateProvider>(
                            files.key, files.cert, files.client_ca, std::max(1u, reload_seconds));
  ex::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!files.client_ca.empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return ex::TlsServerCredentials(options);
}

}  // namespace

GrpcServer::GrpcServer(GrpcServerOptions options, std::unique_ptr<GrpcInferenceService> service)
    : options_(std::move(options)),
      service_(std::move(service)),
      unsupported_(std::make_unique<UnsupportedMethods>()) {}

GrpcServer::~GrpcServer() { Shutdown(); }

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(const GrpcServerOptions& options,
                                                              serving::ServerCore& core) {
  // Plain gRPC: strata accepts the port's connections itself
  // (api/grpc_acceptor.h): gRPC 1.51's acceptor never accepts again after
  // running out of descriptors.
  std::unique_ptr<GrpcAcceptor> acceptor;
  if (!options.tls.enabled()) {
    absl::StatusOr<std::unique_ptr<GrpcAcceptor>> listening =
        GrpcAcceptor::Listen(options.host, options.port);
    if (!listening.ok()) return listening.status();
    acceptor = *std::move(listening);
  }
  std::unique_ptr<GrpcServer> server(new GrpcServer(
      options, std::make_unique<GrpcInferenceService>(
                   core, GrpcServiceOptions{.control_api = options.control_api,
                                            .control_on_admin_port = options.control_on_admin_port,
                                            .guard = options.guard,
                                            .payload_log = options.payload_log})));
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  if (options.guard != nullptr) builder.SetOption(std::make_unique<NoReflectionOption>());
  int tls_port = 0;
  if (options.tls.enabled()) {
    builder.AddListeningPort(Address(options.host, options.port),
                             TlsCredentials(options.tls, options.tls_reload_seconds), &tls_port);
  }
  builder.RegisterService(server->service_.get());
  server->rollout_service_ = std::make_unique<GrpcRolloutService>(
      options.rollouts,
      GrpcRolloutServiceOptions{.control_api = options.control_api,
                                .control_on_admin_port = options.control_on_admin_port,
                                .guard = options.guard,
                                .audit_log = options.audit_log});
  builder.RegisterService(server->rollout_service_.get());
  builder.RegisterCallbackGenericService(server->unsupported_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<size_t>(options.max_message_bytes, std::numeric_limits<int>::max())));
  builder.SetMaxSendMessageSize(-1);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || (options.tls.enabled() && tls_port == 0)) {
    server->stopped_ = server->server_ == nullptr;
    return absl::UnavailableError(
        fmt::format("cannot start the gRPC server on {}", Address(options.host, options.port)));
  }
  if (acceptor == nullptr) {
    server->port_ = static_cast<uint16_t>(tls_port);
    return server;
  }
  server->acceptor_ = std::move(acceptor);
  server->port_ = server->acceptor_->port();
  grpc::Server* grpc_server = server->server_.get();
  serving::ServerMetrics* metrics = options.metrics;
  server->acceptor_->Start(
      [grpc_server](int fd) { grpc::AddInsecureChannelFromFd(grpc_server, fd); },
      [metrics] {
        if (metrics != nullptr) metrics->RecordAcceptPause();
      });
  return server;
}

void GrpcServer::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  if (acceptor_ != nullptr) acceptor_->Stop();  // no new connections
  server_->Shutdown(std::chrono::system_clock::now() + options_.drain_timeout);
  server_->Wait();
}

}  // namespace strata::api
