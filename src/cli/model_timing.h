// MeasureModel loads one model version from a repository and times it on
// zero-filled inputs: single-row calls (the latency of a model answer, p50
// and p99) and full batches (the cost per row of precomputing a table).
// `strata advise --repository --model` uses it for its cost figures.
// Thread-compatible.
#ifndef STRATA_CLI_MODEL_TIMING_H_
#define STRATA_CLI_MODEL_TIMING_H_

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/backend_registry.h"

namespace strata::cli {

struct ModelTiming {
  std::string model;
  int64_t version = 0;
  double single_row_p50_us = 0;
  double single_row_p99_us = 0;
  double batch_us_per_row = 0;
  int64_t batch_rows = 0;
};

// INVALID_ARGUMENT for a model with BYTES inputs (zeros mean nothing
// there) or that fails to load or run.
absl::StatusOr<ModelTiming> MeasureModel(const std::filesystem::path& repository,
                                         const std::string& model,
                                         const runtime::BackendRegistry& backends);

}  // namespace strata::cli

#endif  // STRATA_CLI_MODEL_TIMING_H_
