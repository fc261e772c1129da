// RedisConnection is one hiredis connection with strata's error handling
// (every failure is UNAVAILABLE, naming the server), and RedisConnectionPool
// hands connections to threads one at a time, reconnecting broken ones on
// the next use. A connection is single-threaded; the pool is thread-safe.
#ifndef STRATA_STORE_REDIS_REDIS_CONNECTION_H_
#define STRATA_STORE_REDIS_REDIS_CONNECTION_H_

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

struct redisContext;
struct redisReply;

namespace strata::store {

struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  // A unix domain socket instead of host:port when not empty: for a Redis
  // on the same machine it skips the TCP stack (about half the round trip).
  std::string unix_socket = {};
  // "redis://host:port[/db]", "host:port", or "unix:///path/to.sock[?db=N]".
  static absl::StatusOr<RedisAddress> Parse(std::string_view url);
  std::string ToString() const;
};

// A reply, freed on destruction.
using RedisReply = std::unique_ptr<redisReply, void (*)(void*)>;

class RedisConnection {
 public:
  static absl::StatusOr<std::unique_ptr<RedisConnection>> Connect(
      const RedisAddress& address, std::chrono::milliseconds timeout);
  ~RedisConnection();

  // One command; args are binary-safe. An error reply is an error status.
  absl::StatusOr<RedisReply> Command(const std::vector<std::string_view>& args);

  // Pipelining: queue commands, then read one reply per queued command.
  absl::Status Append(const std::vector<std::string_view>& args);
  absl::StatusOr<RedisReply> ReadReply();

  // False once an I/O error has happened; the pool then reconnects.
  bool healthy() const;
  // The server closed the connection (it restarted, or dropped an idle
  // client): the command never ran, and a new connection may retry it.
  bool closed_by_server() const;

 private:
  RedisConnection(redisContext* context, std::string name)
      : context_(context), name_(std::move(name)) {}
  absl::Status Error(std::string_view what) const;
  redisContext* context_;
  std::string name_;
};

class RedisConnectionPool {
 public:
  RedisConnectionPool(RedisAddress address, std::chrono::milliseconds timeout)
      : address_(std::move(address)), timeout_(timeout) {}

  // A connection for the caller's exclusive use; give it back with Release.
  absl::StatusOr<std::unique_ptr<RedisConnection>> Acquire();
  void Release(std::unique_ptr<RedisConnection> connection);

  const RedisAddress& address() const { return address_; }

 private:
  RedisAddress address_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;  // GUARDED_BY(mutex_)
};

// Acquires a pooled connection and releases it when it goes out of scope.
class PooledRedisConnection {
 public:
  static absl::StatusOr<PooledRedisConnection> Acquire(RedisConnectionPool& pool);
  PooledRedisConnection(PooledRedisConnection&&) = default;
  ~PooledRedisConnection();
  RedisConnection* operator->() { return connection_.get(); }
  RedisConnection& get() { return *connection_; }

 private:
  PooledRedisConnection(RedisConnectionPool& pool, std::unique_ptr<RedisConnection> connection)
      : pool_(&pool), connection_(std::move(connection)) {}
  RedisConnectionPool* pool_;
  std::unique_ptr<RedisConnection> connection_;
};

// Calls `visit(keys)` for batches of keys matching `pattern` (SCAN, 1000 at
// a time); stops at the first error, from Redis or from `visit`.
absl::Status ScanKeys(RedisConnection& c, const std::string& pattern,
                      const std::function<absl::Status(std::vector<std::string>&)>& visit);

}  // namespace strata::store

#endif  // STRATA_STORE_REDIS_REDIS_CONNECTION_H_
