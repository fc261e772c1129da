#include "store/redis/redis_connection.h"

#include <hiredis/hiredis.h>

#include <charconv>

#include "fmt/format.h"

namespace strata::store {
namespace {

RedisReply Own(void* reply) { return RedisReply(static_cast<redisReply*>(reply), freeReplyObject); }

std::vector<const char*> Pointers(const std::vector<std::string_view>& args,
                                  std::vector<size_t>& lengths) {
  std::vector<const char*> pointers;
  lengths.clear();
  for (std::string_view a : args) {
    pointers.push_back(a.data());
    lengths.push_back(a.size());
  }
  return pointers;
}

absl::StatusOr<int> ParseNumber(std::string_view text, std::string_view what) {
  int value = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (err != std::errc() || end != text.data() + text.size() || text.empty()) {
    return absl::InvalidArgumentError(fmt::format("Redis {} '{}' is not a number", what, text));
  }
  return value;
}

// "unix:///path/to.sock[?db=N]" without its scheme.
absl::StatusOr<RedisAddress> ParseUnix(std::string_view rest) {
  RedisAddress address;
  if (const size_t query = rest.find('?'); query != std::string_view::npos) {
    std::string_view option = rest.substr(query + 1);
    if (!option.starts_with("db=")) {
      return absl::InvalidArgumentError(
          fmt::format("Redis unix URL option '{}' is not db=N", option));
    }
    absl::StatusOr<int> db = ParseNumber(option.substr(3), "database");
    if (!db.ok()) return db.status();
    address.db = *db;
    rest = rest.substr(0, query);
  }
  if (!rest.starts_with('/')) {
    return absl::InvalidArgumentError(
        fmt::format("Redis unix socket '{}' is not an absolute path (unix:///path/to.sock)", rest));
  }
  address.unix_socket = std::string(rest);
  return address;
}

}  // namespace

absl::StatusOr<RedisAddress> RedisAddress::Parse(std::string_view url) {
  if (url.starts_with("unix://")) return ParseUnix(url.substr(7));
  RedisAddress address;
  if (url.starts_with("redis://")) url.remove_prefix(8);
  if (const size_t slash = url.find('/'); slash != std::string_view::npos) {
    absl::StatusOr<int> db = ParseNumber(url.substr(slash + 1), "database");
    if (!db.ok()) return db.status();
    address.db = *db;
    url = url.substr(0, slash);
  }
  const size_t colon = url.rfind(':');
  if (colon != std::string_view::npos) {
    absl::StatusOr<int> port = ParseNumber(url.substr(colon + 1), "port");
    if (!port.ok()) return port.status();
    address.port = *port;
    url = url.substr(0, colon);
  }
  if (!url.empty()) address.host = std::string(url);
  return address;
}

std::string RedisAddress::ToString() const {
  if (!unix_socket.empty()) {
    return db == 0 ? fmt::format("unix://{}", unix_socket)
                   : fmt::format("unix://{}?db={}", unix_socket, db);
  }
  return db == 0 ? fmt::format("redis://{}:{}", host, port)
                 : fmt::format("redis://{}:{}/{}", host, port, db);
}

absl::StatusOr<std::unique_ptr<RedisConnection>> RedisConnection::Connect(
    const RedisAddress& address, std::chrono::milliseconds timeout) {
  const timeval tv{static_cast<time_t>(timeout.count() / 1000),
                   static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  redisContext* context = address.unix_socket.empty()
                              ? redisConnectWithTimeout(address.host.c_str(), address.port, tv)
                              : redisConnectUnixWithTimeout(address.unix_socket.c_str(), tv);
  if (context == nullptr || context->err) {
    const std::string error = context ? context->errstr : "out of memory";
    if (context) redisFree(context);
    return absl::UnavailableError(
        fmt::format("cannot connect to Redis at {}: {}", address.ToString(), error));
  }
  redisSetTimeout(context, tv);
  auto connection =
      std::unique_ptr<RedisConnection>(new RedisConnection(context, address.ToString()));
  if (address.db != 0) {
    const std::string db = std::to_string(address.db);
    absl::StatusOr<RedisReply> selected = connection->Command({"SELECT", db});
    if (!selected.ok()) return selected.status();
  }
  return connection;
}

RedisConnection::~RedisConnection() { redisFree(context_); }

bool RedisConnection::healthy() const { return context_->err == 0; }

bool RedisConnection::closed_by_server() const { return context_->err == REDIS_ERR_EOF; }

absl::Status RedisConnection::Error(std::string_view what) const {
  return absl::UnavailableError(fmt::format("Redis at {}: {}: {}", name_, what, context_->errstr));
}

absl::StatusOr<RedisReply> RedisConnection::Command(const std::vector<std::string_view>& args) {
  std::vector<size_t> lengths;
  std::vector<const char*> pointers = Pointers(args, lengths);
  RedisReply reply = Own(
      redisCommandArgv(context_, static_cast<int>(args.size()), pointers.data(), lengths.data()));
  if (reply == nullptr) return Error(args.empty() ? "" : args[0]);
  if (reply->type == REDIS_REPLY_ERROR) {
    return absl::InternalError(fmt::format("Redis at {}: {} failed: {}", name_, args[0],
                                           std::string(reply->str, reply->len)));
  }
  return reply;
}

absl::Status RedisConnection::Append(const std::vector<std::string_view>& args) {
  std::vector<size_t> lengths;
  std::vector<const char*> pointers = Pointers(args, lengths);
  if (redisAppendCommandArgv(context_, static_cast<int>(args.size()), pointers.data(),
                             lengths.data()) != REDIS_OK) {
    return Error("pipeline");
  }
  return absl::OkStatus();
}

absl::StatusOr<RedisReply> RedisConnection::ReadReply() {
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK) return Error("pipeline reply");
  RedisReply reply = Own(raw);
  if (reply->type == REDIS_REPLY_ERROR) {
    return absl::InternalError(
        fmt::format("Redis at {}: {}", name_, std::string(reply->str, reply->len)));
  }
  return reply;
}

absl::StatusOr<std::unique_ptr<RedisConnection>> RedisConnectionPool::Acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<RedisConnection> c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  return RedisConnection::Connect(address_, timeout_);
}

void RedisConnectionPool::Release(std::unique_ptr<RedisConnection> connection) {
  if (connection == nullptr || !connection->healthy()) return;  // reconnect later
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(connection));
}

absl::StatusOr<PooledRedisConnection> PooledRedisConnection::Acquire(RedisConnectionPool& pool) {
  absl::StatusOr<std::unique_ptr<RedisConnection>> c = pool.Acquire();
  if (!c.ok()) return c.status();
  return PooledRedisConnection(pool, *std::move(c));
}

PooledRedisConnection::~PooledRedisConnection() {
  if (connection_) pool_->Release(std::move(connection_));
}

absl::Status ScanKeys(RedisConnection& c, const std::string& pattern,
                      const std::function<absl::Status(std::vector<std::string>&)>& visit) {
  std::string cursor = "0";
  do {
    absl::StatusOr<RedisReply> reply =
        c.Command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (!reply.ok()) return reply.status();
    const redisReply& r = **reply;
    if (r.type != REDIS_REPLY_ARRAY || r.elements != 2) {
      return absl::InternalError("unexpected SCAN reply");
    }
    cursor.assign(r.element[0]->str, r.element[0]->len);
    std::vector<std::string> keys;
    for (size_t i = 0; i < r.element[1]->elements; ++i) {
      const redisReply* k = r.element[1]->element[i];
      keys.emplace_back(k->str, k->len);
    }
    if (!keys.empty()) {
      if (absl::Status s = visit(keys); !s.ok()) return s;
    }
  } while (cursor != "0");
  return absl::OkStatus();
}

}  // namespace strata::store
