// Hit ratio of the prediction cache on Zipf workloads (issue 6): strata's
// TinyLFU cache against a plain LRU of the same byte size and against the
// best possible static set (the K most requested keys of the same trace),
// for exponents 0.8, 1.0, 1.2 over 10M keys and caches of 0.1% and 1% of
// the keys. Prints a Markdown table.
//   build/release/bench/cache_hit_ratio [requests=20000000]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "advisor/zipf_sampler.h"
#include "serving/prediction_cache.h"

namespace {

using strata::advisor::ZipfSampler;
using strata::serving::PredictionCache;

constexpr uint64_t kKeys = 10'000'000;
constexpr const char* kValue = "0.7312";  // one FP32 score's worth of bytes

std::string RowKey(uint64_t rank) {
  // Scatter ranks so that key order says nothing about popularity.
  return std::to_string((rank * 0x9E3779B97F4A7C15ULL) % 1'000'000'007ULL);
}

double Replay(const std::vector<uint32_t>& trace, size_t entries, bool admission) {
  const size_t entry_bytes =
      PredictionCache::EntryOverhead() + PredictionCache::Key("m", 1, RowKey(1)).size() + 6;
  PredictionCache cache({.max_bytes = entries * entry_bytes, .shards = 16, .admission = admission});
  uint64_t hits = 0;
  std::string value;
  for (uint32_t rank : trace) {
    const std::string key = PredictionCache::Key("m", 1, RowKey(rank));
    if (cache.Get(key, value)) {
      ++hits;
    } else {
      cache.Put(key, kValue);
    }
  }
  return static_cast<double>(hits) / trace.size();
}

// The share of the trace taken by its `entries` most requested keys: the
// hit ratio of the best static set, known in hindsight.
double BestStatic(const std::vector<uint32_t>& trace, size_t entries) {
  std::vector<uint32_t> counts(kKeys + 1, 0);
  for (uint32_t rank : trace) ++counts[rank];
  std::nth_element(counts.begin(), counts.begin() + entries, counts.end(),
                   std::greater<uint32_t>());
  uint64_t covered = 0;
  for (size_t i = 0; i < entries; ++i) covered += counts[i];
  return static_cast<double>(covered) / trace.size();
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t requests = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20'000'000;
  std::printf(
      "| Zipf s | cache (entries) | strata TinyLFU | plain LRU | best static top-K | "
      "TinyLFU / static | TinyLFU - LRU |\n|---|---|---|---|---|---|---|\n");
  for (double exponent : {0.8, 1.0, 1.2}) {
    ZipfSampler zipf(kKeys, exponent, 2024);
    std::vector<uint32_t> trace(requests);
    for (uint32_t& rank : trace) rank = static_cast<uint32_t>(zipf.Next());
    for (double share : {0.001, 0.01}) {
      const auto entries = static_cast<size_t>(share * kKeys);
      const double tiny = Replay(trace, entries, true);
      const double lru = Replay(trace, entries, false);
      const double best = BestStatic(trace, entries);
      std::printf("| %.1f | %.1f%% (%zu) | %.1f%% | %.1f%% | %.1f%% | %.2f | %+.1f pts |\n",
                  exponent, 100 * share, entries, 100 * tiny, 100 * lru, 100 * best, tiny / best,
                  100 * (tiny - lru));
      std::fflush(stdout);
    }
  }
  return 0;
}
