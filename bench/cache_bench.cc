// Cost of one PredictionCache lookup, hit and miss (issue 6: target <= 1 µs
// each), single-threaded and with threads contending on the shards.
//   build/release/bench/cache_bench --benchmark_min_time=1
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "serving/prediction_cache.h"

namespace strata::serving {
namespace {

constexpr int kEntries = 100'000;

std::vector<std::string> Keys(int n, const std::string& prefix) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (int i = 0; i < n; ++i) {
    keys.push_back(PredictionCache::Key("purchase", 3, prefix + std::to_string(i)));
  }
  std::shuffle(keys.begin(), keys.end(), std::mt19937(1));
  return keys;
}

// One cache shared by every benchmark thread, filled with kEntries rows.
PredictionCache& Filled() {
  static PredictionCache* cache = [] {
    auto* c = new PredictionCache({.max_bytes = 256 << 20, .shards = 16});
    for (const std::string& key : Keys(kEntries, "user:")) {
      std::string value;
      c->Get(key, value);
      c->Put(key, "0.73125");
    }
    return c;
  }();
  return *cache;
}

void BM_CacheHit(benchmark::State& state) {
  PredictionCache& cache = Filled();
  static const std::vector<std::string> keys = Keys(kEntries, "user:");
  std::string value;
  size_t i = state.thread_index() * 7919;
  for (auto _ : state) {
    const bool hit = cache.Get(keys[i++ % keys.size()], value);
    benchmark::DoNotOptimize(hit);
  }
}
BENCHMARK(BM_CacheHit)->Threads(1)->Threads(2)->Threads(4);

void BM_CacheMiss(benchmark::State& state) {
  PredictionCache& cache = Filled();
  static const std::vector<std::string> keys = Keys(kEntries, "absent:");
  std::string value;
  size_t i = state.thread_index() * 7919;
  for (auto _ : state) {
    const bool hit = cache.Get(keys[i++ % keys.size()], value);
    benchmark::DoNotOptimize(hit);
  }
}
BENCHMARK(BM_CacheMiss)->Threads(1)->Threads(2)->Threads(4);

// A miss followed by the Put of the model's answer, in a full cache: the
// whole cost the cache adds to a request that goes to the model.
void BM_CacheMissThenPut(benchmark::State& state) {
  PredictionCache cache({.max_bytes = 4 << 20, .shards = 16});
  static const std::vector<std::string> keys = Keys(1'000'000, "tail:");
  std::string value;
  size_t i = 0;
  for (auto _ : state) {
    const std::string& key = keys[i++ % keys.size()];
    if (!cache.Get(key, value)) cache.Put(key, "0.73125");
  }
}
BENCHMARK(BM_CacheMissThenPut);

}  // namespace
}  // namespace strata::serving

BENCHMARK_MAIN();
