// model_call_bench: the in-process cost of one runtime::Model::Run() call, the
// time strata's REST path spends inside the backend for a request.
//
//   model_call_bench --model_dir=examples/repository/models/digits_mlp
//                    [--version=1] [--rows=1,8,64] [--backend=trees|xgboost]
//                    [--engine=dense|libtorch[,...]] [Google Benchmark flags]
//
// Loads the model the way strata does: serving::LoadModelConfig() parses
// config.yaml, and the backend named there (or by --backend: torchscript,
// xgboost, or trees, the native tree engine, for an XGBoost model) builds the
// model from the version directory through its factory. --engine sets the
// `engine` parameter (a TorchScript model: the dense engine or LibTorch);
// several, comma-separated, load the model once per engine and time each, so
// one run compares them. Then it times Run() on
// a fixed input of `rows` rows (values (i % 17) / 16, so XGBoost trees and MLPs
// see varied data) of every declared input. The input tensors are built once;
// only Run() is inside the timed loop. Reports real time, plus
// "us_per_row" and "process_cpu_us" (the whole process's CPU per call, every
// thread's: what a multi-threaded Run() really costs) as counters.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/backend_registry.h"
#include "runtime/model.h"
#include "runtime/torchscript/torchscript_backend.h"
#include "runtime/trees/trees_backend.h"
#include "runtime/xgboost/xgboost_backend.h"
#include "serving/model_config_parser.h"

namespace {

using strata::core::DataType;
using strata::core::Tensor;

[[noreturn]] void Die(std::string_view message) {
  std::fprintf(stderr, "model_call_bench: %.*s\n", static_cast<int>(message.size()),
               message.data());
  std::exit(2);
}

std::vector<Tensor> MakeInputs(const strata::runtime::ModelConfig& config, int64_t rows) {
  std::vector<Tensor> inputs;
  for (const auto& spec : config.inputs) {
    strata::core::Shape shape = spec.shape;
    for (auto& dim : shape) {
      if (dim < 0) dim = rows;
    }
    Tensor t = Tensor::Zeros(spec.name, spec.dtype, shape);
    if (spec.dtype != DataType::kFp32) Die("only FP32 inputs are supported");
    auto values = t.MutableAs<float>();
    for (size_t i = 0; i < values.size(); ++i) {
      values[i] = static_cast<float>(i % 17) / 16.0f;
    }
    inputs.push_back(std::move(t));
  }
  return inputs;
}

// User plus system CPU of every thread of this process so far, in µs.
double ProcessCpuMicros() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto micros = [](const timeval& t) { return t.tv_sec * 1e6 + static_cast<double>(t.tv_usec); };
  return micros(usage.ru_utime) + micros(usage.ru_stime);
}

void BM_Run(benchmark::State& state, std::shared_ptr<strata::runtime::Model> model,
            std::vector<Tensor> inputs, int64_t rows) {
  const double cpu_before = ProcessCpuMicros();
  for (auto _ : state) {
    auto out = model->Run(std::span<const Tensor>(inputs));
    if (!out.ok()) {
      state.SkipWithError(std::string(out.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(out->data());
  }
  state.counters["process_cpu_us"] =
      benchmark::Counter(ProcessCpuMicros() - cpu_before, benchmark::Counter::kAvgIterations);
  state.counters["rows"] = static_cast<double>(rows);
  state.counters["us_per_row"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>(rows),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert, benchmark::Counter::kIs1000);
}

std::vector<std::string> SplitList(std::string_view list) {
  std::vector<std::string> items;
  for (size_t pos = 0; pos <= list.size();) {
    size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    items.emplace_back(list.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return items;
}

struct Flags {
  std::filesystem::path model_dir;
  std::string version = "1";
  std::vector<int64_t> rows = {1};
  std::string backend_name;
  std::vector<std::string> engines = {""};  // "": the backend's own choice
  std::vector<char*> rest;                  // Google Benchmark's flags
};

// Our own flags; Google Benchmark parses the rest.
Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  flags.rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--model_dir=")) {
      flags.model_dir = std::string(arg.substr(12));
    } else if (arg.starts_with("--backend=")) {
      flags.backend_name = std::string(arg.substr(10));
    } else if (arg.starts_with("--engine=")) {
      flags.engines = SplitList(arg.substr(9));
    } else if (arg.starts_with("--version=")) {
      flags.version = std::string(arg.substr(10));
    } else if (arg.starts_with("--rows=")) {
      flags.rows.clear();
      for (const std::string& r : SplitList(arg.substr(7))) flags.rows.push_back(std::stoll(r));
    } else {
      flags.rest.push_back(argv[i]);
    }
  }
  return flags;
}

}  // namespace

int main(int argc, char** argv) {
  auto [model_dir, version, rows, backend_name, engines, rest] = ParseFlags(argc, argv);
  if (model_dir.empty()) Die("give --model_dir=DIR (a directory with config.yaml)");
  const std::string name = model_dir.filename().string();
  auto config = strata::serving::LoadModelConfig(model_dir / "config.yaml", name);
  if (!config.ok()) Die(config.status().ToString());

  strata::runtime::BackendRegistry registry;
  registry.Register(strata::runtime::TorchScriptBackend());
  registry.Register(strata::runtime::XGBoostBackend());
  registry.Register(strata::runtime::TreesBackend());
  if (!backend_name.empty()) config->backend = backend_name;
  const strata::runtime::Backend* backend = registry.Find(config->backend);
  if (backend == nullptr) Die("unknown backend " + config->backend);
  std::vector<std::shared_ptr<strata::runtime::Model>> models;
  for (const std::string& engine : engines) {
    strata::runtime::ModelConfig engine_config = *config;
    if (!engine.empty()) engine_config.parameters["engine"] = engine;
    auto model = backend->factory(engine_config, model_dir / version);
    if (!model.ok()) Die(model.status().ToString());
    models.push_back(std::move(*model));
    const std::string label = config->backend + (engine.empty() ? "" : ":" + engine);
    for (int64_t r : rows) {
      benchmark::RegisterBenchmark((name + "/" + label + "/Run/rows:" + std::to_string(r)).c_str(),
                                   BM_Run, models.back(), MakeInputs(*config, r), r)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  int bargc = static_cast<int>(rest.size());
  benchmark::Initialize(&bargc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(bargc, rest.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  // The model goes before main returns: XGBoost's booster freed during static
  // destruction, after its own globals, crashed the process at exit.
  benchmark::ClearRegisteredBenchmarks();
  models.clear();
  benchmark::Shutdown();
  return 0;
}
