// RedisLookupPipeline answers the asynchronous lookups of a Redis server's
// tables (PredictionTable::MultiGetAsync) without a thread per waiting
// lookup: a few connections, each driven by one thread of its own, take
// every lookup queued while their previous round trip was out, coalesce
// them into ONE MGET (RedisMultiGetBatch), and hand each lookup its share
// of the reply. 64 concurrent requests thus cost a few round trips, not 64
// one after another behind a pool of blocking threads.
//
// `done` runs on a pipeline thread and must be quick (hand heavy work to
// another thread: serving/guarded_table_store.h does). A hung server holds
// a round for the connection's timeout, after which the round's lookups
// fail UNAVAILABLE and the next round reconnects; a full queue refuses a
// lookup at once. The threads start with the first lookup. Thread-safe.
#ifndef STRATA_STORE_REDIS_REDIS_LOOKUP_PIPELINE_H_
#define STRATA_STORE_REDIS_REDIS_LOOKUP_PIPELINE_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "store/prediction_table.h"
#include "store/redis/redis_connection.h"

namespace strata::store {

struct RedisLookupPipelineOptions {
  int connections = 2;               // each with its own thread
  size_t max_queued = 4096;          // lookups waiting for a round
  size_t max_keys_per_round = 8192;  // a round takes at least one lookup
};

class RedisLookupPipeline {
 public:
  RedisLookupPipeline(RedisAddress address, std::chrono::milliseconds timeout,
                      RedisLookupPipelineOptions options);
  ~RedisLookupPipeline() { Stop(); }
  RedisLookupPipeline(const RedisLookupPipeline&) = delete;
  RedisLookupPipeline& operator=(const RedisLookupPipeline&) = delete;

  // Queues a lookup of `keys`, each read as `prefix` + key; `done` is
  // called exactly once, on a pipeline thread, or at once on the caller's
  // with UNAVAILABLE when the queue is full or the pipeline stopped.
  // REQUIRES: `keys` stay valid until `done` is called.
  void Submit(std::string prefix, std::span<const std::string> keys,
              PredictionTable::LookupCallback done);

  // Answers every lookup still queued, then ends the threads. Idempotent.
  void Stop();

  struct Shared;  // the queue, shared with the threads so they outlive it

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace strata::store

#endif  // STRATA_STORE_REDIS_REDIS_LOOKUP_PIPELINE_H_
