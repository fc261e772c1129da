// Cost of feeding one request key to the advisor's sketches (the price a
// live endpoint pays per row), and of turning a full sketch into statistics.
//   build/release/bench/advisor_bench --benchmark_min_time=1
#include <string>
#include <vector>

#include "advisor/sharded_workload_sketch.h"
#include "advisor/zipf_sampler.h"
#include "benchmark/benchmark.h"

namespace strata::advisor {
namespace {

const std::vector<std::string>& ZipfKeys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    ZipfSampler zipf(10'000'000, 1.0, 7);
    for (int i = 0; i < 1'000'000; ++i) {
      k.push_back("{\"user_id\":" + std::to_string(zipf.Next()) + "}");
    }
    return k;
  }();
  return keys;
}

void BM_SketchAdd(benchmark::State& state) {
  WorkloadSketch sketch;
  const std::vector<std::string>& keys = ZipfKeys();
  size_t i = 0;
  for (auto _ : state) sketch.Add(keys[i++ % keys.size()]);
}
BENCHMARK(BM_SketchAdd);

void BM_ShardedSketchAdd(benchmark::State& state) {
  static ShardedWorkloadSketch* sketch = new ShardedWorkloadSketch();
  const std::vector<std::string>& keys = ZipfKeys();
  size_t i = state.thread_index() * 7919;
  for (auto _ : state) sketch->Add(keys[i++ % keys.size()]);
}
BENCHMARK(BM_ShardedSketchAdd)->Threads(1)->Threads(2)->Threads(4);

void BM_SnapshotAndStats(benchmark::State& state) {
  ShardedWorkloadSketch sketch;
  for (const std::string& key : ZipfKeys()) sketch.Add(key);
  for (auto _ : state) {
    WorkloadStats stats = sketch.Snapshot().Stats();
    benchmark::DoNotOptimize(stats.entropy_bits);
  }
}
BENCHMARK(BM_SnapshotAndStats)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace strata::advisor

BENCHMARK_MAIN();
