#include "store/redis/redis_lookup_pipeline.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <utility>

#include "core/mutex.h"
#include "fmt/format.h"
#include "store/redis/redis_multi_get_batch.h"

namespace strata::store {
namespace {

struct Lookup {
  std::string prefix;
  std::span<const std::string> keys;
  PredictionTable::LookupCallback done;
};

// The reply's elements as values; nullopt for nil (and any non-string).
std::optional<std::vector<std::optional<std::string_view>>> ReplyValues(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_ARRAY) return std::nullopt;
  std::vector<std::optional<std::string_view>> values(reply.elements);
  for (size_t i = 0; i < reply.elements; ++i) {
    const redisReply* e = reply.element[i];
    if (e->type == REDIS_REPLY_STRING) values[i] = std::string_view(e->str, e->len);
  }
  return values;
}

}  // namespace

struct RedisLookupPipeline::Shared {
  Shared(RedisAddress address, std::chrono::milliseconds timeout,
         RedisLookupPipelineOptions options)
      : address(std::move(address)), timeout(timeout), options(options) {}

  // Takes the next round: every queued lookup up to the key budget. False
  // once stopped with nothing queued.
  bool TakeRound(std::vector<Lookup>& round) {
    core::MutexLock lock(mutex);
    while (!stop && queue.empty()) wake.Wait(mutex);
    size_t keys = 0;
    while (!queue.empty() &&
           (round.empty() || keys + queue.front().keys.size() <= options.max_keys_per_round)) {
      keys += queue.front().keys.size();
      round.push_back(std::move(queue.front()));
      queue.pop_front();
    }
    return !round.empty();
  }

  // One MGET for the whole round on `connection` (connecting when it is
  // missing or broken). A reused connection the server had closed (Redis
  // restarted) is replaced and the MGET sent again, once: it never ran.
  absl::StatusOr<std::vector<LookupResult>> Fetch(
      const RedisMultiGetBatch& batch, std::unique_ptr<RedisConnection>& connection) const {
    if (batch.keys() == 0) return batch.Split({});
    absl::StatusOr<RedisReply> reply = absl::UnavailableError("not sent");
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = connection != nullptr && connection->healthy();
      if (!reused) {
        connection.reset();
        absl::StatusOr<std::unique_ptr<RedisConnection>> c =
            RedisConnection::Connect(address, timeout);
        if (!c.ok()) return c.status();
        connection = *std::move(c);
      }
      reply = connection->Command(batch.Command());
      if (reply.ok() || !reused || !connection->closed_by_server()) break;
    }
    if (!reply.ok()) return absl::UnavailableError(reply.status().message());
    return Split(batch, **reply);
  }

  static absl::StatusOr<std::vector<LookupResult>> Split(const RedisMultiGetBatch& batch,
                                                         const redisReply& reply) {
    std::optional<std::vector<std::optional<std::string_view>>> values = ReplyValues(reply);
    if (!values) return absl::UnavailableError("unexpected MGET reply");
    absl::StatusOr<std::vector<LookupResult>> results = batch.Split(*values);
    if (!results.ok()) return absl::UnavailableError(results.status().message());
    return results;
  }

  void RunRound(std::vector<Lookup>& round, std::unique_ptr<RedisConnection>& connection) const {
    RedisMultiGetBatch batch;
    for (const Lookup& lookup : round) batch.Add(lookup.prefix, lookup.keys);
    absl::StatusOr<std::vector<LookupResult>> results = Fetch(batch, connection);
    for (size_t i = 0; i < round.size(); ++i) {
      PredictionTable::LookupCallback done = std::move(round[i].done);
      if (results.ok()) {
        done(std::move((*results)[i]));
      } else {
        done(results.status());
      }
    }
  }

  void Work() {
    std::unique_ptr<RedisConnection> connection;
    std::vector<Lookup> round;
    while (TakeRound(round)) {
      RunRound(round, connection);
      round.clear();  // what the callbacks held goes before the next wait
    }
  }

  const RedisAddress address;
  const std::chrono::milliseconds timeout;
  const RedisLookupPipelineOptions options;
  core::Mutex mutex;
  core::CondVar wake;
  std::deque<Lookup> queue ABSL_GUARDED_BY(mutex);
  std::vector<std::thread> threads ABSL_GUARDED_BY(mutex);
  bool stop ABSL_GUARDED_BY(mutex) = false;
};

RedisLookupPipeline::RedisLookupPipeline(RedisAddress address, std::chrono::milliseconds timeout,
                                         RedisLookupPipelineOptions options)
    : shared_(std::make_shared<Shared>(std::move(address), timeout, options)) {}

void RedisLookupPipeline::Submit(std::string prefix, std::span<const std::string> keys,
                                 PredictionTable::LookupCallback done) {
  {
    core::MutexLock lock(shared_->mutex);
    if (!shared_->stop && shared_->queue.size() < shared_->options.max_queued) {
      if (shared_->threads.empty()) {
        for (int i = 0; i < std::max(1, shared_->options.connections); ++i) {
          shared_->threads.emplace_back([shared = shared_] { shared->Work(); });
        }
      }
      shared_->queue.push_back({std::move(prefix), keys, std::move(done)});
      done = nullptr;
    }
  }
  if (done == nullptr) {
    shared_->wake.Signal();
    return;
  }
  done(absl::UnavailableError(fmt::format("Redis at {}: too many lookups waiting; not asked",
                                          shared_->address.ToString())));
}

void RedisLookupPipeline::Stop() {
  std::vector<std::thread> threads;
  {
    core::MutexLock lock(shared_->mutex);
    shared_->stop = true;
    threads.swap(shared_->threads);
  }
  shared_->wake.SignalAll();
  for (std::thread& t : threads) {
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // this thread returns into Work(), which holds the queue
    } else {
      t.join();
    }
  }
}

}  // namespace strata::store
