// strata_load: a closed-loop load client for the KServe v2 protocols, so that
// gRPC, REST with JSON tensors and REST with binary tensors are measured by
// the same code. It sends one prepared request over and over from
// `--concurrency` callers for `--duration` seconds (after `--warmup`), and
// prints one JSON line: requests, errors, throughput and latency percentiles.
//
//   strata_load --protocol grpc|rest-json|rest-binary --port P --model M
//               --payload FILE [--header-length N] [--concurrency C]
//               [--duration S] [--warmup S] [--threads T] [--host H]
//               [--channels N] [--tls-ca FILE] [--authorization VALUE]   (gRPC)
//
// The payload is the exact request: a serialized ModelInferRequest for grpc,
// the HTTP body for REST (for rest-binary, `--header-length` is its
// Inference-Header-Content-Length). gRPC callers share one channel, so C
// callers are C concurrent HTTP/2 streams on one connection; REST callers
// each hold one keep-alive HTTP/1.1 connection (HTTP/1.1 has no streams),
// driven by `--threads` I/O threads (default 2; gRPC's client runs its own
// pool of about one thread per core).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "boost/asio.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "fmt/format.h"
#include "grpcpp/grpcpp.h"
#include "inference.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string protocol;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string model;
  std::string payload;
  size_t header_length = 0;
  int concurrency = 1;
  double duration = 5;
  double warmup = 1;
  int threads = 2;  // REST client I/O threads (gRPC runs its own pool)
  // gRPC only: connections (one channel each; calls are dealt to them in
  // turn), TLS with this CA (server name "localhost"), and an
  // `authorization` metadata value sent with every call.
  int channels = 1;
  std::string tls_ca;
  std::string authorization;
};

// Collects the latencies of calls that complete inside the measured window.
class Recorder {
 public:
  Recorder(Clock::time_point start, Clock::time_point end) : start_(start), end_(end) {}

  void Record(Clock::time_point sent, Clock::time_point done, bool ok) {
    if (sent < start_ || done > end_) return;
    std::lock_guard lock(mutex_);
    if (ok) {
      micros_.push_back(std::chrono::duration<double, std::micro>(done - sent).count());
    } else {
      ++errors_;
    }
  }

  bool Running(Clock::time_point now) const { return now < end_; }

  std::string Report(const Options& options) {
    std::lock_guard lock(mutex_);
    std::sort(micros_.begin(), micros_.end());
    const auto percentile = [&](double p) {
      if (micros_.empty()) return 0.0;
      return micros_[std::min(micros_.size() - 1, static_cast<size_t>(p * micros_.size()))];
    };
    const double seconds = std::chrono::duration<double>(end_ - start_).count();
    return fmt::format(
        R"({{"protocol":"{}","model":"{}","concurrency":{},"requests":{},"errors":{},)"
        R"("seconds":{:.2f},"throughput":{:.1f},"p50_us":{:.0f},"p90_us":{:.0f},"p99_us":{:.0f}}})",
        options.protocol, options.model, options.concurrency, micros_.size(), errors_, seconds,
        micros_.size() / seconds, percentile(0.50), percentile(0.90), percentile(0.99));
  }

 private:
  const Clock::time_point start_, end_;
  std::mutex mutex_;
  std::vector<double> micros_;
  size_t errors_ = 0;
};

// gRPC: `concurrency` callers, each issuing its next call from the previous
// call's completion callback, on one channel.
class GrpcLoad {
 public:
  GrpcLoad(const Options& options, Recorder& recorder)
      : recorder_(recorder), authorization_(options.authorization) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection per channel
    std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
    if (!options.tls_ca.empty()) {
      std::ifstream file(options.tls_ca);
      grpc::SslCredentialsOptions ssl;
      ssl.pem_root_certs.assign(std::istreambuf_iterator<char>(file), {});
      credentials = grpc::SslCredentials(ssl);
      args.SetSslTargetNameOverride("localhost");
    }
    for (int i = 0; i < std::max(1, options.channels); ++i) {
      channels_.push_back(grpc::CreateCustomChannel(
          fmt::format("{}:{}", options.host, options.port), credentials, args));
      stubs_.push_back(inference::GRPCInferenceService::NewStub(channels_.back()));
    }
    if (!request_.ParseFromString(options.payload)) {
      std::fprintf(stderr, "the payload is not a serialized ModelInferRequest\n");
      std::exit(2);
    }
  }

  void Run(int concurrency) {
    for (int i = 0; i < concurrency; ++i) Issue(*stubs_[i % stubs_.size()]);
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return outstanding_ == 0; });
  }

 private:
  struct Call {
    grpc::ClientContext context;
    inference::ModelInferResponse response;
    Clock::time_point sent;
  };

  // Keeps one call of `stub`'s connection in flight.
  void Issue(inference::GRPCInferenceService::Stub& stub) {
    {
      std::lock_guard lock(mutex_);
      ++outstanding_;
    }
    auto* call = new Call;
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    if (!authorization_.empty()) call->context.AddMetadata("authorization", authorization_);
    call->sent = Clock::now();
    stub.async()->ModelInfer(&call->context, &request_, &call->response,
                             [this, call, &stub](grpc::Status status) {
                               const Clock::time_point now = Clock::now();
                               recorder_.Record(call->sent, now, status.ok());
                               delete call;
                               if (recorder_.Running(now)) Issue(stub);
                               std::lock_guard lock(mutex_);
                               if (--outstanding_ == 0) done_.notify_all();
                             });
  }

  Recorder& recorder_;
  const std::string authorization_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<inference::GRPCInferenceService::Stub>> stubs_;
  inference::ModelInferRequest request_;
  std::mutex mutex_;
  std::condition_variable done_;
  int outstanding_ = 0;
};

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// REST: one keep-alive connection per caller, all driven by one I/O thread.
class RestConnection : public std::enable_shared_from_this<RestConnection> {
 public:
  RestConnection(asio::io_context& io, const std::string& request, Recorder& recorder)
      : socket_(io), request_(request), recorder_(recorder) {}

  void Start(const asio::ip::tcp::endpoint& endpoint) {
    socket_.connect(endpoint);
    socket_.set_option(asio::ip::tcp::no_delay(true));
    Send();
  }

 private:
  void Send() {
    sent_ = Clock::now();
    asio::async_write(socket_, asio::buffer(request_),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->Fail();
                        self->Read();
                      });
  }

  void Read() {
    parser_.emplace();
    parser_->body_limit(1 << 30);
    http::async_read(
        socket_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
          if (ec) return self->Fail();
          const Clock::time_point now = Clock::now();
          self->recorder_.Record(self->sent_, now, self->parser_->get().result_int() == 200);
          if (self->recorder_.Running(now)) self->Send();
        });
  }

  void Fail() {
    recorder_.Record(sent_, Clock::now(), false);
    beast::error_code ignored;
    socket_.close(ignored);
  }

  asio::ip::tcp::socket socket_;
  const std::string& request_;
  Recorder& recorder_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  Clock::time_point sent_;
};

std::string RestRequest(const Options& options) {
  const bool binary = options.protocol == "rest-binary";
  std::string head = fmt::format(
      "POST /v2/models/{}/infer HTTP/1.1\r\nHost: {}:{}\r\nConnection: keep-alive\r\n"
      "Content-Type: {}\r\nContent-Length: {}\r\n",
      options.model, options.host, options.port,
      binary ? "application/octet-stream" : "application/json", options.payload.size());
  if (binary) {
    head += fmt::format("Inference-Header-Content-Length: {}\r\n", options.header_length);
  }
  return head + "\r\n" + options.payload;
}

void RunRest(const Options& options, Recorder& recorder) {
  asio::io_context io;
  const std::string request = RestRequest(options);
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(options.host),
                                         static_cast<unsigned short>(options.port));
  for (int i = 0; i < options.concurrency; ++i) {
    std::make_shared<RestConnection>(io, request, recorder)->Start(endpoint);
  }
  // A connection has one operation pending at a time, so its handlers never
  // run concurrently, whatever the number of threads.
  std::vector<std::thread> threads;
  for (int i = 1; i < options.threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (std::thread& thread : threads) thread.join();
}

Options Parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--protocol")
      options.protocol = value;
    else if (flag == "--host")
      options.host = value;
    else if (flag == "--port")
      options.port = std::stoi(value);
    else if (flag == "--model")
      options.model = value;
    else if (flag == "--header-length")
      options.header_length = std::stoul(value);
    else if (flag == "--concurrency")
      options.concurrency = std::stoi(value);
    else if (flag == "--duration")
      options.duration = std::stod(value);
    else if (flag == "--warmup")
      options.warmup = std::stod(value);
    else if (flag == "--threads")
      options.threads = std::max(1, std::stoi(value));
    else if (flag == "--channels")
      options.channels = std::max(1, std::stoi(value));
    else if (flag == "--tls-ca")
      options.tls_ca = value;
    else if (flag == "--authorization")
      options.authorization = value;
    else if (flag == "--payload") {
      std::ifstream file(value, std::ios::binary);
      options.payload.assign(std::istreambuf_iterator<char>(file), {});
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      std::exit(2);
    }
  }
  if (options.port == 0 || options.model.empty() || options.payload.empty() ||
      (options.protocol != "grpc" && options.protocol != "rest-json" &&
       options.protocol != "rest-binary")) {
    std::fprintf(stderr,
                 "usage: strata_load --protocol grpc|rest-json|rest-binary --port P --model M "
                 "--payload FILE [--header-length N] [--concurrency C] [--duration S] "
                 "[--warmup S] [--threads T] [--host H] [--channels N] [--tls-ca FILE] "
                 "[--authorization VALUE]\n");
    std::exit(2);
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil keeps deadlock detection on in every absl::Mutex (gRPC's
  // included); a load generator should cost as little CPU as it can.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const Options options = Parse(argc, argv);
  const Clock::time_point start = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                     std::chrono::duration<double>(options.warmup));
  Recorder recorder(start, start + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(options.duration)));
  if (options.protocol == "grpc") {
    GrpcLoad load(options, recorder);
    load.Run(options.concurrency);
  } else {
    RunRest(options, recorder);
  }
  std::printf("%s\n", recorder.Report(options).c_str());
  return 0;
}
