#include "api/grpc_server.h"

#include <limits>

#include "api/grpc_inference_service.h"
#include "fmt/format.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"

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

GrpcServer::GrpcServer(GrpcServerOptions options,
                       std::unique_ptr<GrpcInferenceService> service)
    : options_(std::move(options)),
      service_(std::move(service)),
      unsupported_(std::make_unique<UnsupportedMethods>()) {}

GrpcServer::~GrpcServer() { Shutdown(); }

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const GrpcServerOptions& options, const serving::ServerCore& core) {
  std::unique_ptr<GrpcServer> server(
      new GrpcServer(options, std::make_unique<GrpcInferenceService>(
                                  core, GrpcServiceOptions{.control_api = options.control_api})));
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int selected_port = 0;
  const std::string address = Address(options.host, options.port);
  // A second server on a busy port must fail, not share it silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &selected_port);
  builder.RegisterService(server->service_.get());
  builder.RegisterCallbackGenericService(server->unsupported_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<size_t>(
      options.max_message_bytes, std::numeric_limits<int>::max())));
  builder.SetMaxSendMessageSize(-1);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || selected_port == 0) {
    if (server->server_ == nullptr) server->stopped_ = true;
    return absl::UnavailableError(
        fmt::format("cannot listen for gRPC on {}: the address is in use or invalid",
                    address));
  }
  server->port_ = static_cast<uint16_t>(selected_port);
  return server;
}

void GrpcServer::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  server_->Shutdown(std::chrono::system_clock::now() + options_.drain_timeout);
  server_->Wait();
}

}  // namespace strata::api
