// RedisMultiGetBatch coalesces the multi-gets of concurrent lookups (of
// any tables and versions of one Redis server) into ONE MGET: every
// lookup's keys, each under its table version's key prefix, end to end;
// and splits the MGET's reply back into one LookupResult per lookup, in the
// order they were added. Pure: no connection, no threads, no hiredis types
// (RedisLookupPipeline sends the command and reads the reply). Not
// thread-safe.
#ifndef STRATA_STORE_REDIS_REDIS_MULTI_GET_BATCH_H_
#define STRATA_STORE_REDIS_REDIS_MULTI_GET_BATCH_H_

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "store/prediction_table.h"

namespace strata::store {

class RedisMultiGetBatch {
 public:
  // Adds one lookup of `keys` (each read under `prefix`); returns its
  // index among the lookups added.
  size_t Add(std::string_view prefix, std::span<const std::string> keys);

  size_t lookups() const { return ends_.size(); }
  size_t keys() const { return full_keys_.size(); }

  // "MGET" then every full key in the order added. REQUIRES: keys() > 0
  // (an MGET of no key is an error in Redis). Views into the batch.
  std::vector<std::string_view> Command() const;

  // One result per lookup; `values[i]` is the reply's i-th element, nullopt
  // where Redis answered nil. INTERNAL when the reply does not have one
  // element per key. With keys() == 0, `values` is empty and every lookup
  // gets an empty result.
  absl::StatusOr<std::vector<LookupResult>> Split(
      std::span<const std::optional<std::string_view>> values) const;

  void Clear();

 private:
  std::vector<std::string> full_keys_;
  std::vector<size_t> ends_;  // ends_[i]: one past lookup i's last key
};

}  // namespace strata::store

#endif  // STRATA_STORE_REDIS_REDIS_MULTI_GET_BATCH_H_
