#include "api/grpc_server.h"

#include <limits>

#include "api/grpc_acceptor.h"
#include "api/grpc_inference_service.h"
#include "fmt/format.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"
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

}  // namespace

GrpcServer::GrpcServer(GrpcServerOptions options, std::unique_ptr<GrpcInferenceService> service)
    : options_(std::move(options)),
      service_(std::move(service)),
      unsupported_(std::make_unique<UnsupportedMethods>()) {}

GrpcServer::~GrpcServer() { Shutdown(); }

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(const GrpcServerOptions& options,
                                                              serving::ServerCore& core) {
  // strata accepts the port's connections itself (api/grpc_acceptor.h): gRPC
  // 1.51's acceptor never accepts again after running out of descriptors.
  absl::StatusOr<std::unique_ptr<GrpcAcceptor>> acceptor =
      GrpcAcceptor::Listen(options.host, options.port);
  if (!acceptor.ok()) return acceptor.status();
  std::unique_ptr<GrpcServer> server(
      new GrpcServer(options, std::make_unique<GrpcInferenceService>(
                                  core, GrpcServiceOptions{.control_api = options.control_api})));
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.RegisterService(server->service_.get());
  builder.RegisterCallbackGenericService(server->unsupported_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<size_t>(options.max_message_bytes, std::numeric_limits<int>::max())));
  builder.SetMaxSendMessageSize(-1);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr) {
    server->stopped_ = true;
    return absl::InternalError(
        fmt::format("cannot start the gRPC server on {}", Address(options.host, options.port)));
  }
  server->acceptor_ = *std::move(acceptor);
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
