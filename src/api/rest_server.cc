#include "api/rest_server.h"

#include <sys/resource.h>

#include <atomic>
#include <string_view>
#include <thread>
#include <vector>

#include "api/accept_backoff.h"
#include "api/body_budget.h"
#include "api/kserve_json_codec.h"
#include "boost/asio.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "core/text_escape.h"
#include "fmt/format.h"
#include "serving/drain_sequence.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace strata::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct ServerState {
  const RestServerOptions options;
  const RestHandler& handler;
  std::shared_ptr<spdlog::logger> access_log;  // null when off
  BodyBudget body_budget;
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};
};

// What a connection does once an answer is written.
enum class After {
  kReadNext,  // keep-alive: read the next request
  kClose,
  // The request's body was refused unread: drop what the client still sends
  // for a while, so that closing does not reset the connection (which can
  // destroy the answer before the client reads it), then close.
  kDrainThenClose,
};

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::chrono::seconds kDrainTime{2};
constexpr size_t kDrainChunk = 64 << 10;

HttpReply ErrorReply(int status, std::string_view message) {
  return {status, EncodeError(message), "application/json", {}};
}

// One client connection: read a request's header, admit or refuse its body,
// read the body, answer; repeat while kept alive. The body counts against
// the server's body budget from the header (its Content-Length) until the
// answer is written.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, ServerState& state)
      : stream_(std::move(socket)), state_(state), reservation_(state.body_budget) {}

  void Start() { ReadHeader(); }
  asio::any_io_executor executor() { return stream_.get_executor(); }

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->body_limit(state_.options.max_body_bytes);
    stream_.expires_after(state_.options.idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&HttpSession::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec, false);
    const http::request<http::string_body>& req = parser_->get();
    if (state_.access_log) {
      started_ = std::chrono::steady_clock::now();
      method_ = std::string(req.method_string());
      target_ = std::string(req.target().substr(0, req.target().find('?')));
      request_bytes_ = 0;
    }
    if (std::optional<HttpReply> refusal = Admit()) {
      return Answer(*std::move(refusal), After::kDrainThenClose);
    }
    if (req.version() >= 11 && beast::iequals(req[http::field::expect], "100-continue") &&
        !parser_->is_done()) {
      return SendContinue();
    }
    ReadBody();
  }

  // nullopt when the body may be read; else the answer that refuses it.
  // A body of unknown length (chunked) is admitted, and takes from the
  // budget as it arrives.
  std::optional<HttpReply> Admit() {
    const beast::string_view expect = parser_->get()[http::field::expect];
    if (!expect.empty() && !beast::iequals(expect, "100-continue")) {
      return ErrorReply(
          417, fmt::format("Expect: {} is not supported; only 100-continue", ToView(expect)));
    }
    if (!reservation_.GrowTo(parser_->content_length().value_or(0))) return BudgetSpent();
    return std::nullopt;
  }

  HttpReply BudgetSpent() {
    HttpReply reply = ErrorReply(
        503, fmt::format("the server holds too much request-body memory to take this body "
                         "now (--body-memory-budget {} bytes); retry later",
                         state_.body_budget.limit()));
    reply.headers.emplace_back("Retry-After", "1");
    return reply;
  }

  // The client waits for this before it sends the body (curl does, for a
  // second, for bodies over 1 MB).
  void SendContinue() {
    stream_.expires_after(state_.options.body_timeout);
    asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->Close();
                        self->ReadBody();
                      });
  }

  // Reads the body piece by piece, each within the body timeout.
  void ReadBody() {
    if (parser_->is_done()) return OnRequest();
    stream_.expires_after(state_.options.body_timeout);
    http::async_read_some(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&HttpSession::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec, true);
    if (!parser_->content_length() && !reservation_.GrowTo(parser_->get().body().capacity())) {
      return Answer(BudgetSpent(), After::kDrainThenClose);
    }
    ReadBody();
  }

  void OnReadError(beast::error_code ec, bool reading_body) {
    if (ec == beast::error::timeout && reading_body) {
      // The stream has closed the socket: nothing can be answered.
      if (state_.options.metrics) state_.options.metrics->RecordBodyTimeout();
      return;
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      return Answer(ErrorReply(413, fmt::format("request body exceeds the limit of {} bytes "
                                                "(--max-body-size)",
                                                state_.options.max_body_bytes)),
                    After::kDrainThenClose);
    }
    if (ec == http::error::partial_message) {
      return Answer(ErrorReply(400,
                               "truncated request: the connection ended before the "
                               "body announced by Content-Length arrived"),
                    After::kClose);
    }
    Answer(ErrorReply(400, fmt::format("malformed HTTP request: {}", ec.message())), After::kClose);
  }

  void OnRequest() {
    state_.in_flight.fetch_add(1);
    const http::request<http::string_body>& req = parser_->get();
    request_bytes_ = req.body().size();
    HttpRequestView view{
        .method = std::string_view(req.method_string().data(), req.method_string().size()),
        .target = std::string_view(req.target().data(), req.target().size()),
        .body = req.body(),
        .content_encoding = ToView(req[http::field::content_encoding]),
        .inference_header_size = ToView(req["Inference-Header-Content-Length"]),
        .accept_encoding = ToView(req[http::field::accept_encoding]),
        .max_body_bytes = state_.options.max_body_bytes,
        .body_reservation = &reservation_,
    };
    for (const auto& field : req) {
      const std::string_view name(field.name_string().data(), field.name_string().size());
      if (name.size() > 2 && (name[0] == 'x' || name[0] == 'X') && name[1] == '-') {
        view.app_headers.emplace_back(name,
                                      std::string_view(field.value().data(), field.value().size()));
      }
    }
    const After after = req.keep_alive() ? After::kReadNext : After::kClose;
    state_.handler.Handle(view, [self = shared_from_this(), after](HttpReply reply) {
      // The core may answer on its own thread; writes happen on the
      // connection's (its context has one thread).
      asio::dispatch(self->stream_.get_executor(),
                     [self, after, reply = std::move(reply)]() mutable {
                       self->Send(std::move(reply), after, true);
                     });
    });
  }

  static std::string_view ToView(beast::string_view s) { return {s.data(), s.size()}; }

  // An answer the session makes itself, counted in flight like the others.
  void Answer(HttpReply reply, After after) {
    state_.in_flight.fetch_add(1);
    Send(std::move(reply), after, true);
  }

  void Send(HttpReply reply, After after, bool counted) {
    if (state_.stopping.load() && after == After::kReadNext) after = After::kClose;
    response_ = {};
    response_.result(static_cast<unsigned>(reply.status));
    response_.version(11);
    response_.set(http::field::server, "strata");
    response_.set(http::field::content_type, reply.content_type);
    for (auto& [name, value] : reply.headers) response_.set(name, value);
    response_.keep_alive(after == After::kReadNext);
    response_.body() = std::move(reply.body);
    response_.prepare_payload();
    if (state_.access_log && counted) LogAccess(reply);
    http::async_write(stream_, response_,
                      [self = shared_from_this(), after, counted](beast::error_code ec, size_t) {
                        if (counted) self->state_.in_flight.fetch_sub(1);
                        self->EndRequest();
                        if (ec) return self->Close();
                        if (after == After::kDrainThenClose) return self->DrainThenClose();
                        if (after == After::kClose || self->state_.stopping.load()) {
                          return self->Close();
                        }
                        self->ReadHeader();
                      });
  }

  // The answer is written: free the request's body, its budget, and the
  // answer, rather than hold them while the connection idles.
  void EndRequest() {
    parser_.reset();
    reservation_.Reset();
    response_ = {};
  }

  // One JSON line per request: never the payload, only what an operator needs.
  void LogAccess(const HttpReply& reply) {
    const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started_);
    state_.access_log->info(
        R"({{"method":"{}","path":{},"status":{},"latency_us":{},"model":{},"version":{},"arm":{},"request_bytes":{},"response_bytes":{}}})",
        method_, core::JsonString(target_), reply.status, latency.count(),
        core::JsonString(reply.model_name), core::JsonString(reply.model_version),
        core::JsonString(reply.arm), request_bytes_, response_.body().size());
  }

  void DrainThenClose() {
    Close();
    stream_.expires_after(kDrainTime);
    Discard();
  }

  void Discard() {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(kDrainChunk),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (!ec) self->Discard();
                            });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  ServerState& state_;
  BodyReservation reservation_;  // the request's body: buffered and inflated
  // Access-log fields of the request being answered.
  std::chrono::steady_clock::time_point started_;
  std::string method_, target_;
  size_t request_bytes_ = 0;
};

// True for the accept errors that mean the process is short of a resource
// (descriptors, buffers), which retrying at once cannot fix.
bool IsResourceShortage(const beast::error_code& ec) {
  return ec == asio::error::no_descriptors ||                         // EMFILE
         ec == boost::system::errc::too_many_files_open_in_system ||  // ENFILE
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

std::string DescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return "unknown";
  return limit.rlim_cur == RLIM_INFINITY ? "unlimited" : std::to_string(limit.rlim_cur);
}

}  // namespace

// One io_context per I/O thread, each run by its one thread: a connection
// lives on the context that accepted it, so its handlers never contend for
// a shared scheduler's lock (with one context shared by all threads, 64
// connections fell into a lock convoy on asio's scheduler that halved
// throughput at random). The acceptor, signals and drain timer live on the
// first context; accepted sockets are dealt to the contexts in turn.
class RestServer::Impl {
 public:
  Impl(const RestServerOptions& options, const RestHandler& handler)
      : state_{options, handler, MakeAccessLog(options), MakeBodyBudget(options)},
        contexts_(MakeContexts(ThreadCount(options))),
        acceptor_(*contexts_[0]),
        signals_(*contexts_[0], SIGINT, SIGTERM),
        drain_timer_(*contexts_[0]),
        drain_({.delay = options.drain_delay, .timeout = options.drain_timeout}),
        accept_timer_(*contexts_[0]) {}

  static BodyBudget MakeBodyBudget(const RestServerOptions& options) {
    serving::ServerMetrics* metrics = options.metrics;
    if (metrics == nullptr) return BodyBudget(options.body_memory_budget);
    return BodyBudget(
        options.body_memory_budget,
        {.held_changed = [metrics](int64_t delta) { metrics->AddHttpBodyBytes(delta); },
         .refused = [metrics] { metrics->RecordBodyBudgetRefusal(); }});
  }

  static std::shared_ptr<spdlog::logger> MakeAccessLog(const RestServerOptions& options) {
    if (!options.access_log) return nullptr;
    auto logger = std::make_shared<spdlog::logger>(
        "access", std::make_shared<spdlog::sinks::stdout_sink_mt>());
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","access":%v})",
                        spdlog::pattern_time_type::utc);
    return logger;
  }

  static int ThreadCount(const RestServerOptions& options) {
    if (options.threads > 0) return options.threads;
    return std::max(1u, std::thread::hardware_concurrency());
  }

  static std::vector<std::unique_ptr<asio::io_context>> MakeContexts(int count) {
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    // Concurrency hint 1: each context is run by exactly one thread.
    for (int i = 0; i < count; ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
    return contexts;
  }

  absl::Status Listen() {
    beast::error_code ec;
    const asio::ip::address address = asio::ip::make_address(state_.options.host, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          fmt::format("invalid --host '{}': {}", state_.options.host, ec.message()));
    }
    const tcp::endpoint endpoint(address, state_.options.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          fmt::format("cannot listen on {}:{}: {} (is another server using the port? try --port)",
                      state_.options.host, state_.options.port, ec.message()));
    }
    return absl::OkStatus();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void Run() {
    Accept();
    WaitForSignal();
    // The other contexts have no work until a connection arrives: keep them
    // running until shutdown stops them.
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    for (auto& context : contexts_) guards.push_back(asio::make_work_guard(*context));
    std::vector<std::thread> threads;
    for (size_t i = 1; i < contexts_.size(); ++i) {
      threads.emplace_back([context = contexts_[i].get()] { context->run(); });
    }
    contexts_[0]->run();
    for (std::thread& t : threads) t.join();
  }

  void Shutdown() {
    asio::post(*contexts_[0], [this] {
      BeginDrain();
      BeginDrain();  // the second request ends the delay
    });
  }

 private:
  void Accept() {
    asio::io_context& context = *contexts_[next_context_++ % contexts_.size()];
    acceptor_.async_accept(context, [this](beast::error_code ec, tcp::socket socket) {
      if (ec) return OnAcceptError(ec);
      accept_backoff_.OnSuccess();
      socket.set_option(tcp::no_delay(true), ec);
      auto session = std::make_shared<HttpSession>(std::move(socket), state_);
      // Start on the connection's own thread.
      asio::post(session->executor(), [session] { session->Start(); });
      Accept();
    });
  }

  // Retries at once after an error of one connection; pauses when the
  // process is out of descriptors, so that closing connections (or raising
  // the limit) lets it recover. Logs at most once per interval.
  void OnAcceptError(const beast::error_code& ec) {
    if (!acceptor_.is_open() || ec == asio::error::operation_aborted) return;
    const bool shortage = IsResourceShortage(ec);
    const AcceptBackoff::Decision decision =
        accept_backoff_.OnFailure(AcceptBackoff::Clock::now(), shortage);
    if (decision.log) {
      spdlog::warn("accept failed: {}{}{}", ec.message(),
                   decision.failures > 1
                       ? fmt::format(" ({} times since the last such line)", decision.failures)
                       : std::string(),
                   shortage ? fmt::format("; the open-file limit is {} (ulimit -n); new "
                                          "connections wait while accepts pause for up to {} ms",
                                          DescriptorLimit(), AcceptBackoff::kMaxPause.count())
                            : std::string());
    }
    if (decision.pause.count() == 0) return Accept();
    if (state_.options.metrics) state_.options.metrics->RecordAcceptPause();
    accept_timer_.expires_after(decision.pause);
    accept_timer_.async_wait([this](beast::error_code timer_ec) {
      if (!timer_ec && acceptor_.is_open()) Accept();
    });
  }

  void WaitForSignal() {
    signals_.async_wait([this](beast::error_code ec, int signal) {
      if (ec) return;
      spdlog::info("received signal {}; {}", signal,
                   drain_.phase() == serving::DrainSequence::Phase::kServing
                       ? fmt::format("not ready now; serving for {} ms more, then finishing "
                                     "in-flight requests",
                                     state_.options.drain_delay.count())
                       : std::string("ending the drain delay"));
      BeginDrain();
      WaitForSignal();
    });
  }

  // The first call starts the drain sequence; a second ends its delay.
  void BeginDrain() {
    if (drain_.Begin(std::chrono::steady_clock::now())) {
      state_.stopping.store(true);  // answers carry Connection: close from now
      if (state_.options.on_drain) state_.options.on_drain();
    }
    StepDrain();
  }

  // Follows the drain sequence: closes the listener after the delay, polls
  // the in-flight count while requests finish, and stops the I/O threads at
  // the end.
  void StepDrain() {
    const auto now = std::chrono::steady_clock::now();
    const serving::DrainSequence::Decision d = drain_.Next(now, state_.in_flight.load());
    if (d.close_listeners) CloseListener();
    if (d.phase == serving::DrainSequence::Phase::kDone) {
      if (d.timed_out) {
        spdlog::warn("drain timeout ({} ms) passed with {} requests in flight; closing them",
                     state_.options.drain_timeout.count(), state_.in_flight.load());
      }
      beast::error_code ec;
      signals_.cancel(ec);
      for (auto& context : contexts_) context->stop();
      return;
    }
    // While finishing, requests end without telling the sequence: poll.
    const bool finishing = d.phase == serving::DrainSequence::Phase::kFinishing;
    drain_timer_.expires_at(finishing ? std::min(now + std::chrono::milliseconds(5), *d.wake_at)
                                      : *d.wake_at);
    drain_timer_.async_wait([this](beast::error_code ec) {
      if (ec != asio::error::operation_aborted) StepDrain();
    });
  }

  void CloseListener() {
    beast::error_code ec;
    acceptor_.close(ec);
    accept_timer_.cancel();
    spdlog::info("listeners closed; finishing {} in-flight requests", state_.in_flight.load());
    if (state_.options.on_close) state_.options.on_close();
  }

  ServerState state_;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  size_t next_context_ = 0;  // used on the first context's thread only
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer drain_timer_;
  serving::DrainSequence drain_;     // used on the first context's thread only
  asio::steady_timer accept_timer_;  // the pause after a failed accept
  AcceptBackoff accept_backoff_;     // used on the first context's thread only
};

absl::StatusOr<std::unique_ptr<RestServer>> RestServer::Start(const RestServerOptions& options,
                                                              const RestHandler& handler) {
  auto impl = std::make_unique<Impl>(options, handler);
  if (absl::Status s = impl->Listen(); !s.ok()) return s;
  return std::unique_ptr<RestServer>(new RestServer(std::move(impl)));
}

RestServer::RestServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RestServer::~RestServer() = default;
uint16_t RestServer::port() const { return impl_->port(); }
void RestServer::Run() { impl_->Run(); }
void RestServer::Shutdown() { impl_->Shutdown(); }

}  // namespace strata::api
