// Transformation throughput of the feature pipeline (issue 13, "Transformation
// throughput in strata batch: >= 1M rows/s per core for 20 numeric features"):
// FeaturePipeline::Assemble over rows of 20 FLOAT64 request fields, each
// through a numeric transformation (standardize, min_max, log1p, clip in
// turn), on one thread. The floor, measured in the same run, is a plain loop
// that converts the same 20 doubles per row to floats. `strata batch` end to
// end is bench/feature_transform_bench.py.
//   build/release/bench/feature_transform_bench --benchmark_repetitions=5
//     --benchmark_report_aggregates_only=true
#include <random>
#include <string>

#include "benchmark/benchmark.h"
#include "features/feature_definition.h"
#include "features/feature_pipeline.h"
#include "fmt/format.h"

namespace {

using strata::features::FeaturePipeline;
using strata::features::RawRows;

constexpr int kFeatures = 20;
constexpr size_t kRows = 65536;

std::string DefinitionYaml() {
  static const char* kTransforms[] = {"standardize", "min_max", "log1p", "clip"};
  static const char* kParams[] = {"{mean: 1, std: 2}", "{min: 0, max: 10}", "{}",
                                  "{low: -1, high: 1}"};
  std::string request = "request:\n", features = "features:\n", names;
  for (int i = 0; i < kFeatures; ++i) {
    request += fmt::format("  f{}: {{type: FLOAT64}}\n", i);
    features += fmt::format("  - {{name: x{}, from: request.f{}, transform: {}, params: {}}}\n", i,
                            i, kTransforms[i % 4], kParams[i % 4]);
    names += fmt::format("{}x{}", i ? "," : "", i);
  }
  return request + features +
         fmt::format("outputs:\n  - {{tensor: input__0, features: [{}]}}\n", names);
}

std::shared_ptr<const FeaturePipeline> Pipeline() {
  return *FeaturePipeline::Create(*strata::features::ParseFeatureDefinition(DefinitionYaml()));
}

RawRows Rows(const FeaturePipeline& pipeline) {
  RawRows rows(kRows, pipeline.slots().size());
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> value(-5, 20);
  for (size_t r = 0; r < kRows; ++r) {
    for (size_t s = 0; s < rows.slots(); ++s) rows.At(r, s) = value(random);
  }
  return rows;
}

void BM_Assemble(benchmark::State& state) {
  const auto pipeline = Pipeline();
  const RawRows rows = Rows(*pipeline);
  for (auto _ : state) {
    auto tensors = pipeline->Assemble(rows);
    benchmark::DoNotOptimize(tensors);
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_Assemble)->Unit(benchmark::kMillisecond);

void BM_TransformRow(benchmark::State& state) {
  const auto pipeline = Pipeline();
  const RawRows rows = Rows(*pipeline);
  std::vector<float> out(kRows * pipeline->width());
  for (auto _ : state) {
    for (size_t r = 0; r < kRows; ++r) {
      auto s = pipeline->TransformRow(rows.Row(r), {out.data() + r * kFeatures, kFeatures});
      benchmark::DoNotOptimize(s);
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_TransformRow)->Unit(benchmark::kMillisecond);

// The floor: the same values read from the same rows, converted to floats.
void BM_FloorCopy(benchmark::State& state) {
  const auto pipeline = Pipeline();
  const RawRows rows = Rows(*pipeline);
  std::vector<float> out(kRows * kFeatures);
  for (auto _ : state) {
    for (size_t r = 0; r < kRows; ++r) {
      const auto row = rows.Row(r);
      for (int f = 0; f < kFeatures; ++f) {
        out[r * kFeatures + f] = static_cast<float>(std::get<double>(row[f]));
      }
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_FloorCopy)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
