// PredictionCache keeps recent predictions in memory, bounded in bytes, so
// that repeated keys skip the model. Keys name the model and its version
// (Key()), so a version swap never serves an answer of another version;
// the old version's entries simply age out.
//
// The cache is split into shards by key hash, each with its own lock. Each
// shard runs W-TinyLFU (Einziger, Friedman, Manes, 2017): new entries enter
// a small LRU window (1% of the bytes); an entry leaving the window is
// admitted to the main segmented LRU (probation 20%, protected 80%) only if
// the frequency sketch says it was accessed more often than the entry it
// would evict. One-hit wonders from a long tail therefore never push out
// the hot head, which plain LRU lets them do. With `admission = false` a
// shard is a plain LRU (for comparison). Entries may carry a TTL.
//
// The byte bound covers keys, values and per-entry overhead. A key longer
// than core::kMaxKeyBytes (a row keyed by a megabyte of input bytes, say) is
// kept as its fixed-size 128-bit fingerprint marker (core::BoundedKey), so
// one entry costs at most that plus its value, and a flood of long keys
// cannot take more room than short ones. Keys made by Key() contain a NUL
// and a marker never does, so a marker is never a short key. Thread-safe.
#ifndef STRATA_SERVING_PREDICTION_CACHE_H_
#define STRATA_SERVING_PREDICTION_CACHE_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace strata::serving {

struct PredictionCacheOptions {
  size_t max_bytes = 64 << 20;
  int shards = 16;  // rounded up to a power of two
  // Entries older than this are misses; zero: no TTL.
  std::chrono::nanoseconds ttl{0};
  // TinyLFU admission; false: plain LRU.
  bool admission = true;
  // Sizes the frequency sketch (max_bytes / this entries).
  size_t expected_entry_bytes = 128;
  // Where TTLs read the time; empty: the steady clock.
  std::function<std::chrono::steady_clock::time_point()> clock = {};
};

struct PredictionCacheStats {
  uint64_t hits = 0, misses = 0;
  uint64_t inserts = 0;     // entries written (new or replaced)
  uint64_t rejections = 0;  // candidates the admission policy turned away
  uint64_t evictions = 0;   // entries pushed out for room
  uint64_t expirations = 0;
  size_t entries = 0, bytes = 0;
};

class PredictionCache {
 public:
  explicit PredictionCache(PredictionCacheOptions options);
  ~PredictionCache();
  PredictionCache(const PredictionCache&) = delete;
  PredictionCache& operator=(const PredictionCache&) = delete;

  // The cache key of one row of `model` at `version`: the row key (for
  // example store::KeySchema's encoding, or the row's input bytes) behind
  // the model's name and version.
  static std::string Key(std::string_view model, int64_t version, std::string_view row_key);

  // Copies the value of `key` into `value` and returns true on a hit. Every
  // call counts as an access for admission, hit or miss.
  bool Get(std::string_view key, std::string& value);
  // Inserts or replaces. A value larger than a shard is not cached.
  void Put(std::string_view key, std::string_view value);

  PredictionCacheStats Stats() const;
  size_t max_bytes() const { return options_.max_bytes; }
  // What one entry costs beyond its key and value bytes.
  static size_t EntryOverhead();

 private:
  class Shard;
  Shard& ShardOf(uint64_t hash) const;

  const PredictionCacheOptions options_;
  int shard_bits_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_PREDICTION_CACHE_H_
