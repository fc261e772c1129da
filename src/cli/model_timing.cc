#include "cli/model_timing.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "fmt/format.h"
#include "runtime/library_error.h"
#include "serving/lifecycle/model_loader.h"

namespace strata::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kSingleCalls = 300;
constexpr int kBatchCalls = 10;

// Zero inputs of `rows` rows for every declared input.
absl::StatusOr<std::vector<core::Tensor>> ZeroInputs(const runtime::ModelConfig& config,
                                                     int64_t rows) {
  std::vector<core::Tensor> inputs;
  for (const runtime::TensorSpec& spec : config.inputs) {
    if (spec.dtype == core::DataType::kBytes) {
      return absl::InvalidArgumentError(fmt::format(
          "input '{}' is BYTES; pass --model-us-per-row instead of timing zeros", spec.name));
    }
    core::Shape shape = spec.shape;
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] < 0) shape[d] = d == 0 && config.max_batch_size > 0 ? rows : 1;
    }
    inputs.push_back(core::Tensor::Zeros(spec.name, spec.dtype, shape));
  }
  return inputs;
}

double Micros(SteadyClock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

}  // namespace

absl::StatusOr<ModelTiming> MeasureModel(const std::filesystem::path& repository,
                                         const std::string& model,
                                         const runtime::BackendRegistry& backends) {
  const serving::ModelLoader loader(backends);
  absl::StatusOr<serving::LoadedModel> served =
      loader.LoadNewest(repository / "models" / model, model);
  if (!served.ok()) {
    const std::string detail = runtime::LibraryDetail(served.status());
    return absl::InvalidArgumentError(fmt::format("model '{}' did not load: {}{}{}", model,
                                                  std::string(served.status().message()),
                                                  detail.empty() ? "" : ": ", detail));
  }
  ModelTiming timing{.model = model,
                     .version = served->version,
                     .single_row_p50_us = 0,
                     .single_row_p99_us = 0,
                     .batch_us_per_row = 0,
                     .batch_rows = std::clamp<int64_t>(served->spec.config.max_batch_size, 1, 256)};
  absl::StatusOr<std::vector<core::Tensor>> one = ZeroInputs(served->spec.config, 1);
  if (!one.ok()) return one.status();
  std::vector<double> latencies;
  for (int i = 0; i < kSingleCalls + 10; ++i) {
    const SteadyClock::time_point start = SteadyClock::now();
    absl::StatusOr<std::vector<core::Tensor>> out = served->model->Run(*one);
    if (!out.ok()) {
      return absl::InvalidArgumentError(fmt::format("model '{}' failed on zero inputs: {}", model,
                                                    std::string(out.status().message())));
    }
    if (i >= 10) latencies.push_back(Micros(SteadyClock::now() - start));  // after warm-up
  }
  std::sort(latencies.begin(), latencies.end());
  timing.single_row_p50_us = latencies[latencies.size() / 2];
  timing.single_row_p99_us = latencies[latencies.size() * 99 / 100];

  absl::StatusOr<std::vector<core::Tensor>> batch =
      ZeroInputs(served->spec.config, timing.batch_rows);
  if (!batch.ok()) return batch.status();
  const SteadyClock::time_point start = SteadyClock::now();
  for (int i = 0; i < kBatchCalls; ++i) {
    if (absl::StatusOr<std::vector<core::Tensor>> out = served->model->Run(*batch); !out.ok()) {
      return out.status();
    }
  }
  timing.batch_us_per_row = Micros(SteadyClock::now() - start) / (kBatchCalls * timing.batch_rows);
  return timing;
}

}  // namespace strata::cli
