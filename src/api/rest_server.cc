#include "api/rest_server.h"

#include <sys/resource.h>

#include <array>
#include <atomic>
#include <memory_resource>
#include <string_view>
#include <thread>
#include <vector>

#include "api/accept_backoff.h"
#include "api/body_budget.h"
#include "api/connection_deadline.h"
#include "api/http_response_head.h"
#include "api/kserve_json_codec.h"
#include "api/tls_server_context.h"
#include "boost/asio.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "core/buffer_pool.h"
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
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using PlainStream = tcp::socket;
using TlsStream = beast::ssl_stream<tcp::socket>;

struct ServerState {
  const RestServerOptions options;
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
// How long a TLS connection waits for the client's close_notify after
// sending its own, before the TCP shutdown.
constexpr std::chrono::seconds kTlsShutdownTime{2};
// A request's header fields are allocated from a per-connection arena of
// this size (further fields from the heap), reset for every request.
constexpr size_t kFieldArenaBytes = 1024;
// What a connection keeps between requests, so that the next request does
// not allocate them again: the body string and the answer's head up to these
// capacities (a larger one is freed when its answer is written).
constexpr size_t kKeptBodyCapacity = 4096;
constexpr size_t kKeptHeadCapacity = 1024;
// The read buffer grows to hold a whole request like the last one (its body
// and this much for its header), up to kMaxReadBuffer: the next such request
// is then read in one recv. (Beast reads at most max(512, free capacity) at
// a time, so a 750-byte request took two.)
constexpr size_t kHeaderAllowance = 1024;
constexpr size_t kMaxReadBuffer = 8192;

using FieldAllocator = std::pmr::polymorphic_allocator<char>;
using RequestParser = http::request_parser<http::string_body, FieldAllocator>;
using Request = http::request<http::string_body, http::basic_fields<FieldAllocator>>;

HttpReply ErrorReply(int status, std::string_view message) {
  return {status, EncodeError(message), "application/json", {}};
}

// One client connection: (over TLS, the handshake, then) read a request's
// header, admit or refuse its body, read the body, answer; repeat while kept
// alive. The body counts against the server's body budget from the header
// (its Content-Length) until the answer is written. Each I/O operation has
// its timeout (ConnectionDeadline): one that outlives it finds the socket
// closed and ends as beast::error::timeout. `Stream` is a PlainStream (a
// socket) or a TlsStream over one.
template <typename Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // `tls`: the TLS context of the handshake (kTls only), kept for as long
  // as the connection lives.
  HttpSession(tcp::socket socket, ServerState& state, const RestHandler& handler,
              std::shared_ptr<ssl::context> tls)
      : tls_(std::move(tls)),
        stream_(MakeStream(std::move(socket), tls_.get())),
        state_(state),
        handler_(handler),
        reservation_(state.body_budget),
        io_executor_(IoExecutorOf(stream_)),
        deadline_(stream_.get_executor(), [this] {
          beast::error_code ec;
          Lowest().close(ec);  // ends the operation in progress
        }) {}

  void Start() {
    deadline_.Attach(this->weak_from_this());
    if constexpr (kTls) {
      deadline_.Start(state_.options.body_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                self->deadline_.Finish();
                                // Counted by nobody: no answer.
                                if (ec) return self->ShutdownTcp();
                                self->handshaken_ = true;
                                self->ReadHeader();
                              });
    } else {
      // Answers are first written without waiting (Send): the socket
      // must not block.
      beast::error_code ec;
      Lowest().non_blocking(true, ec);
      ReadHeader();
    }
  }
  asio::any_io_executor executor() { return stream_.get_executor(); }

 private:
  using std::enable_shared_from_this<HttpSession<Stream>>::shared_from_this;

  static Stream MakeStream(tcp::socket socket, ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      (void)tls;
      return Stream(std::move(socket));
    }
  }

  tcp::socket& Lowest() { return beast::get_lowest_layer(stream_); }

  // The operation in progress has ended with `ec`; beast::error::timeout
  // when it outlived its deadline (which closed the socket under it).
  beast::error_code Ended(beast::error_code ec) {
    deadline_.Finish();
    if (deadline_.expired()) return beast::error::timeout;
    return ec;
  }

  // The executor of the connection's io_context (run by one thread), to
  // tell whether a reply arrives on that thread; nullopt if the stream's
  // executor is not an io_context's.
  static std::optional<asio::io_context::executor_type> IoExecutorOf(Stream& stream) {
    const asio::any_io_executor executor = stream.get_executor();
    const auto* target = executor.template target<asio::io_context::executor_type>();
    if (target == nullptr) return std::nullopt;
    return *target;
  }

  // A fresh parser whose header fields live in the connection's arena and
  // whose body string is the one kept from the previous request.
  void NewParser() {
    parser_.reset();
    field_arena_.release();
    parser_.emplace(std::piecewise_construct, std::make_tuple(),
                    std::make_tuple(FieldAllocator(&field_arena_)));
    parser_->get().body().swap(spare_body_);
  }

  void ReadHeader() {
    NewParser();
    parser_->body_limit(state_.options.max_body_bytes);
    deadline_.Start(state_.options.idle_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&HttpSession<Stream>::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    ec = Ended(ec);
    if (ec) return OnReadError(ec, false);
    const Request& req = parser_->get();
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
    deadline_.Start(state_.options.body_timeout);
    asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (self->Ended(ec)) return self->Close();
                        self->ReadBody();
                      });
  }

  // Reads the body piece by piece, each within the body timeout. Body bytes
  // already read with the header are parsed here, on this call: handing
  // them to async_read_some would queue the request behind every other
  // connection ready on this I/O thread before it is handled.
  void ReadBody() {
    if (!ParseBuffered()) return;
    if (parser_->is_done()) return OnRequest();
    deadline_.Start(state_.options.body_timeout);
    http::async_read_some(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&HttpSession<Stream>::OnBody, shared_from_this()));
  }

  // Parses a Content-Length body's bytes already in the buffer; false when
  // the body is refused (answered by OnReadError). A chunked body is left
  // to OnBody, which grows the body budget as its chunks arrive.
  bool ParseBuffered() {
    if (!parser_->content_length()) return true;
    while (buffer_.size() > 0 && !parser_->is_done()) {
      beast::error_code ec;
      const size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) break;
      if (ec) {
        OnReadError(ec, true);
        return false;
      }
      if (used == 0) break;
    }
    return true;
  }

  void OnBody(beast::error_code ec, size_t) {
    ec = Ended(ec);
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
    // A TLS client that hangs up without close_notify (most do, between
    // requests) ends its stream "truncated": a close like any other.
    if (ec == http::error::end_of_stream || ec == ssl::error::stream_truncated ||
        ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset) {
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
    const Request& req = parser_->get();
    request_bytes_ = req.body().size();
    HttpRequestView view{
        .method = std::string_view(req.method_string().data(), req.method_string().size()),
        .target = std::string_view(req.target().data(), req.target().size()),
        .body = req.body(),
        .content_encoding = {},
        .inference_header_size = {},
        .max_body_bytes = state_.options.max_body_bytes,
        .body_reservation = &reservation_,
        .remote_address = RemoteAddress(),
    };
    ReadFields(req, view);
    after_ = req.keep_alive() ? After::kReadNext : After::kClose;
    // The reply callback holds the connection through held_ (a raw pointer
    // fits std::function's inline storage; a shared_ptr would not).
    held_ = shared_from_this();
    handler_.Handle(view, [this](HttpReply reply) { OnReply(std::move(reply)); });
  }

  // The core may answer on its own thread; writes happen on the
  // connection's (its context has one thread): at once when the answer comes
  // on that thread, else posted to it.
  void OnReply(HttpReply reply) {
    std::shared_ptr<HttpSession> self = std::move(held_);
    if (io_executor_ && io_executor_->running_in_this_thread()) {
      return Send(std::move(reply), after_, true);
    }
    asio::post(stream_.get_executor(),
               [self = std::move(self), reply = std::move(reply)]() mutable {
                 self->Send(std::move(reply), self->after_, true);
               });
  }

  static std::string_view ToView(beast::string_view s) { return {s.data(), s.size()}; }

  // The header fields the handler reads (the first of each name) and the
  // application headers (names starting "x-", any case), in one pass over
  // the request's fields rather than one lookup per name.
  static void ReadFields(const Request& req, HttpRequestView& view) {
    auto first = [](std::string_view& slot, std::string_view value) {
      if (slot.data() == nullptr) slot = value;
    };
    for (const auto& field : req) {
      const std::string_view name = ToView(field.name_string());
      const std::string_view value = ToView(field.value());
      switch (field.name()) {
        case http::field::content_encoding:
          first(view.content_encoding, value);
          break;
        case http::field::accept_encoding:
          first(view.accept_encoding, value);
          break;
        case http::field::authorization:
          first(view.authorization, value);
          break;
        case http::field::unknown:
          if (beast::iequals(field.name_string(), "Inference-Header-Content-Length")) {
            first(view.inference_header_size, value);
          }
          break;
        default:
          break;
      }
      if (name.size() > 2 && (name[0] == 'x' || name[0] == 'X') && name[1] == '-') {
        view.app_headers.emplace_back(name, value);
      }
    }
  }

  // An answer the session makes itself, counted in flight like the others.
  void Answer(HttpReply reply, After after) {
    state_.in_flight.fetch_add(1);
    Send(std::move(reply), after, true);
  }

  void Send(HttpReply reply, After after, bool counted) {
    if (state_.stopping.load() && after == After::kReadNext) after = After::kClose;
    WriteResponseHead({.status = reply.status,
                       .content_type = reply.content_type,
                       .fields = reply.headers,
                       .content_length = reply.body.size(),
                       .keep_alive = after == After::kReadNext},
                      head_);
    body_ = std::move(reply.body);
    if (state_.access_log && counted) LogAccess(reply);
    // Head and body in one gathered write (one sendmsg on plain TCP).
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(body_)};
    size_t written = 0;
    if constexpr (!kTls) {
      beast::error_code ec;
      written = Lowest().write_some(buffers, ec);
      if (ec != asio::error::would_block && (ec || written == asio::buffer_size(buffers))) {
        return OnWritten(ec, after, counted);
      }
      written = ec ? 0 : written;
    }
    // The rest when the socket takes it, within the idle timeout.
    beast::buffers_suffix<std::array<asio::const_buffer, 2>> rest(buffers);
    rest.consume(written);
    deadline_.Start(state_.options.idle_timeout);
    asio::async_write(stream_, rest,
                      [self = shared_from_this(), after, counted](beast::error_code ec, size_t) {
                        self->OnWritten(self->Ended(ec), after, counted);
                      });
  }

  void OnWritten(beast::error_code ec, After after, bool counted) {
    if (counted) state_.in_flight.fetch_sub(1);
    EndRequest();
    if (ec) return ShutdownTcp();
    if (after == After::kDrainThenClose) return DrainThenClose();
    if (after == After::kClose || state_.stopping.load()) return Close();
    ReadHeader();
  }

  // The answer is written: free the request's body, its budget, and the
  // answer, rather than hold them while the connection idles.
  void EndRequest() {
    if (parser_) {
      const size_t wanted =
          std::min(parser_->get().body().size() + kHeaderAllowance, kMaxReadBuffer);
      if (buffer_.capacity() < wanted) buffer_.reserve(wanted);
    }
    if (parser_ && parser_->get().body().capacity() <= kKeptBodyCapacity) {
      parser_->get().body().swap(spare_body_);
      spare_body_.clear();
    }
    parser_.reset();
    reservation_.Reset();
    core::BodyPool::Give(std::move(body_));  // the next answer's encoder takes it
    body_ = std::string();
    if (head_.capacity() > kKeptHeadCapacity) head_ = std::string();
  }

  // The client's "address:port" (the audit log's "remote"), found once.
  std::string_view RemoteAddress() {
    if (remote_.empty()) {
      beast::error_code ec;
      const tcp::endpoint peer = Lowest().remote_endpoint(ec);
      if (!ec) remote_ = fmt::format("{}:{}", peer.address().to_string(), peer.port());
    }
    return remote_;
  }

  // One JSON line per request: never the payload, only what an operator needs.
  void LogAccess(const HttpReply& reply) {
    const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started_);
    state_.access_log->info(
        R"({{"method":"{}","path":{},"status":{},"latency_us":{},"model":{},"version":{},"arm":{},"request_bytes":{},"response_bytes":{}}})",
        method_, core::JsonString(target_), reply.status, latency.count(),
        core::JsonString(reply.model_name), core::JsonString(reply.model_version),
        core::JsonString(reply.arm), request_bytes_, body_.size());
  }

  // Over TLS, the rest of the refused body is dropped as raw bytes (no
  // close_notify: the client is still sending records).
  void DrainThenClose() {
    ShutdownTcp();
    deadline_.Start(kDrainTime);  // for all of the discarding
    Discard();
  }

  void Discard() {
    buffer_.consume(buffer_.size());
    Lowest().async_read_some(buffer_.prepare(kDrainChunk),
                             [self = shared_from_this()](beast::error_code ec, size_t) {
                               if (!ec) self->Discard();
                             });
  }

  // Over TLS, once the handshake is done, the connection ends with a
  // close_notify (an asynchronous SSL shutdown, which waits at most
  // kTlsShutdownTime for the client's), then a TCP shutdown: a client can
  // tell the end from a truncation. Never blocks the I/O thread.
  void Close() {
    if constexpr (kTls) {
      if (handshaken_ && !closing_) {
        closing_ = true;
        deadline_.Start(kTlsShutdownTime);
        stream_.async_shutdown(
            [self = shared_from_this()](beast::error_code) { self->ShutdownTcp(); });
        return;
      }
    }
    ShutdownTcp();
  }

  void ShutdownTcp() {
    beast::error_code ec;
    Lowest().shutdown(tcp::socket::shutdown_send, ec);
  }

  std::shared_ptr<ssl::context> tls_;  // null for plain HTTP
  Stream stream_;
  bool handshaken_ = false;  // TLS: the session is up, so Close sends close_notify
  bool closing_ = false;     // TLS: the SSL shutdown has begun
  std::string remote_;       // RemoteAddress()
  beast::flat_buffer buffer_;
  // The request's header fields: an arena reset for each request, first in
  // the inline buffer.
  std::array<std::byte, kFieldArenaBytes> field_arena_buffer_;
  std::pmr::monotonic_buffer_resource field_arena_{field_arena_buffer_.data(),
                                                   field_arena_buffer_.size()};
  std::optional<RequestParser> parser_;  // destroyed before field_arena_
  std::string spare_body_;               // the previous request's body string, cleared
  std::string head_;                     // the answer's status line and fields
  std::string body_;                     // the answer's body, while it is written
  ServerState& state_;
  const RestHandler& handler_;
  BodyReservation reservation_;  // the request's body: buffered and inflated
  const std::optional<asio::io_context::executor_type> io_executor_;
  After after_ = After::kReadNext;  // what follows the answer to the request in hand
  // The connection, held while the handler has the request (dropped when
  // its reply arrives): the reply callback refers to it by `this`.
  std::shared_ptr<HttpSession> held_;
  ConnectionDeadline deadline_;  // of the operation in progress
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
  Impl(const RestServerOptions& options, std::unique_ptr<TlsServerContext> tls)
      : state_{options, MakeAccessLog(options), MakeBodyBudget(options)},
        contexts_(MakeContexts(ThreadCount(options))),
        signals_(*contexts_[0], SIGINT, SIGTERM),
        drain_timer_(*contexts_[0]),
        drain_({.delay = options.drain_delay, .timeout = options.drain_timeout}),
        tls_(std::move(tls)),
        tls_timer_(*contexts_[0]) {}

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
    // Each line reaches the file when its request ends, as nginx's does: a
    // reader (`strata check`, a log shipper) never waits on a buffer.
    logger->flush_on(spdlog::level::info);
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

  // Opens a listener on `port` whose requests `handler` answers.
  absl::Status Listen(uint16_t port, const RestHandler& handler) {
    auto listener = std::make_unique<Listener>(*contexts_[0], handler);
    tcp::acceptor& acceptor = listener->acceptor;
    beast::error_code ec;
    const asio::ip::address address = asio::ip::make_address(state_.options.host, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          fmt::format("invalid --host '{}': {}", state_.options.host, ec.message()));
    }
    const tcp::endpoint endpoint(address, port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          fmt::format("cannot listen on {}:{}: {} (is another server using the port? try --port)",
                      state_.options.host, port, ec.message()));
    }
    listeners_.push_back(std::move(listener));
    return absl::OkStatus();
  }

  uint16_t port(size_t listener) const {
    return listeners_[listener]->acceptor.local_endpoint().port();
  }
  size_t listener_count() const { return listeners_.size(); }

  void Run() {
    for (auto& listener : listeners_) Accept(*listener);
    WaitForSignal();
    WatchTlsFiles();
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
  // One listening port, the handler of its requests, and its accept backoff.
  struct Listener {
    Listener(asio::io_context& context, const RestHandler& h)
        : acceptor(context), handler(h), accept_timer(context) {}
    tcp::acceptor acceptor;
    const RestHandler& handler;
    asio::steady_timer accept_timer;  // the pause after a failed accept
    AcceptBackoff accept_backoff;     // used on the first context's thread only
  };

  void Accept(Listener& listener) {
    asio::io_context& context = *contexts_[next_context_++ % contexts_.size()];
    listener.acceptor.async_accept(context,
                                   [this, &listener](beast::error_code ec, tcp::socket socket) {
                                     if (ec) return OnAcceptError(listener, ec);
                                     listener.accept_backoff.OnSuccess();
                                     socket.set_option(tcp::no_delay(true), ec);
                                     StartSession(std::move(socket), listener.handler);
                                     Accept(listener);
                                   });
  }

  void StartSession(tcp::socket socket, const RestHandler& handler) {
    if (tls_ != nullptr) {
      auto session = std::make_shared<HttpSession<TlsStream>>(std::move(socket), state_, handler,
                                                              tls_->Current());
      asio::post(session->executor(), [session] { session->Start(); });
      return;
    }
    auto session =
        std::make_shared<HttpSession<PlainStream>>(std::move(socket), state_, handler, nullptr);
    // Start on the connection's own thread.
    asio::post(session->executor(), [session] { session->Start(); });
  }

  // Looks at the certificate files every tls_reload_interval; new
  // connections take a changed certificate.
  void WatchTlsFiles() {
    if (tls_ == nullptr || state_.options.tls_reload_interval.count() <= 0) return;
    tls_timer_.expires_after(state_.options.tls_reload_interval);
    tls_timer_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      tls_->ReloadIfChanged();
      WatchTlsFiles();
    });
  }

  // Retries at once after an error of one connection; pauses when the
  // process is out of descriptors, so that closing connections (or raising
  // the limit) lets it recover. Logs at most once per interval.
  void OnAcceptError(Listener& listener, const beast::error_code& ec) {
    if (!listener.acceptor.is_open() || ec == asio::error::operation_aborted) return;
    const bool shortage = IsResourceShortage(ec);
    const AcceptBackoff::Decision decision =
        listener.accept_backoff.OnFailure(AcceptBackoff::Clock::now(), shortage);
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
    if (decision.pause.count() == 0) return Accept(listener);
    if (state_.options.metrics) state_.options.metrics->RecordAcceptPause();
    listener.accept_timer.expires_after(decision.pause);
    listener.accept_timer.async_wait([this, &listener](beast::error_code timer_ec) {
      if (!timer_ec && listener.acceptor.is_open()) Accept(listener);
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
    for (auto& listener : listeners_) {
      listener->acceptor.close(ec);
      listener->accept_timer.cancel();
    }
    tls_timer_.cancel();
    spdlog::info("listeners closed; finishing {} in-flight requests", state_.in_flight.load());
    if (state_.options.on_close) state_.options.on_close();
  }

  ServerState state_;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  size_t next_context_ = 0;  // used on the first context's thread only
  std::vector<std::unique_ptr<Listener>> listeners_;
  asio::signal_set signals_;
  asio::steady_timer drain_timer_;
  serving::DrainSequence drain_;           // used on the first context's thread only
  std::unique_ptr<TlsServerContext> tls_;  // null: plain HTTP
  asio::steady_timer tls_timer_;
};

absl::StatusOr<std::unique_ptr<RestServer>> RestServer::Start(const RestServerOptions& options,
                                                              const RestHandler& handler,
                                                              const RestHandler* admin_handler) {
  std::unique_ptr<TlsServerContext> tls;
  if (options.tls.enabled()) {
    absl::StatusOr<std::unique_ptr<TlsServerContext>> created =
        TlsServerContext::Create(options.tls);
    if (!created.ok()) return created.status();
    tls = *std::move(created);
  }
  auto impl = std::make_unique<Impl>(options, std::move(tls));
  if (absl::Status s = impl->Listen(options.port, handler); !s.ok()) return s;
  if (admin_handler != nullptr) {
    if (absl::Status s = impl->Listen(options.admin_port, *admin_handler); !s.ok()) return s;
  }
  return std::unique_ptr<RestServer>(new RestServer(std::move(impl)));
}

RestServer::RestServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RestServer::~RestServer() = default;
uint16_t RestServer::port() const { return impl_->port(0); }
std::optional<uint16_t> RestServer::admin_port() const {
  if (impl_->listener_count() < 2) return std::nullopt;
  return impl_->port(1);
}
void RestServer::Run() { impl_->Run(); }
void RestServer::Shutdown() { impl_->Shutdown(); }

}  // namespace strata::api
