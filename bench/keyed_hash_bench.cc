// The keyed hash of a row key (features/keyed_hash.h) with its per-thread
// cache (features/keyed_hash_cache.h), as the live sketch and the key log pay
// it per row (issue 17, item 4): one hot key repeated, Zipf(1.0) keys over
// 100,000 (the cache's hit ratio is reported as a counter), and keys that
// never repeat (every call an HMAC-SHA256 plus the cache's probe and insert).
//   build/release/bench/keyed_hash_bench
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "advisor/zipf_sampler.h"
#include "features/keyed_hash.h"
#include "features/keyed_hash_cache.h"

namespace {

constexpr uint64_t kKeys = 100'000;
constexpr size_t kDraws = 1 << 20;

std::string KeyText(uint64_t id) { return "{\"id\":" + std::to_string(id) + "}"; }

const strata::features::KeyedHasher& Hasher() {
  static const strata::features::KeyedHasher hasher("0123456789abcdef0123456789abcdef");
  return hasher;
}

std::vector<std::string> ZipfKeys() {
  strata::advisor::ZipfSampler sampler(kKeys, 1.0, 17);
  std::vector<std::string> keys;
  keys.reserve(kDraws);
  for (size_t i = 0; i < kDraws; ++i) keys.push_back(KeyText(sampler.Next() - 1));
  return keys;
}

// The share of `keys` a cache the size of KeyedHasher's per-thread one
// answers, in order.
double HitRatio(const std::vector<std::string>& keys) {
  strata::features::KeyedHashCache cache(2048);
  size_t hits = 0;
  for (const std::string& key : keys) {
    if (cache.Find(key) != nullptr) {
      ++hits;
    } else {
      cache.Insert(key, {});
    }
  }
  return static_cast<double>(hits) / static_cast<double>(keys.size());
}

void BM_HashRepeatedKey(benchmark::State& state) {
  const std::string key = KeyText(4242);
  for (auto _ : state) benchmark::DoNotOptimize(Hasher().Hash(key));
}
BENCHMARK(BM_HashRepeatedKey);

void BM_HashZipfKeys(benchmark::State& state) {
  static const std::vector<std::string> keys = ZipfKeys();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Hasher().Hash(keys[i]));
    i = (i + 1) % keys.size();
  }
  state.counters["cache_hit_ratio"] = HitRatio(keys);
}
BENCHMARK(BM_HashZipfKeys);

void BM_HashKeysThatNeverRepeat(benchmark::State& state) {
  // Each key comes back only after a million others: long evicted.
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (size_t i = 0; i < kDraws; ++i) k.push_back(KeyText(1'000'000'000 + i));
    return k;
  }();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Hasher().Hash(keys[i]));
    i = (i + 1) % keys.size();
  }
}
BENCHMARK(BM_HashKeysThatNeverRepeat);

}  // namespace

BENCHMARK_MAIN();
