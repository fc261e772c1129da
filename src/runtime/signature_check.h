// Checks shared by every backend when it validates an artifact against the
// declared signature at load time. Pure functions; thread-safe.
#ifndef STRATA_RUNTIME_SIGNATURE_CHECK_H_
#define STRATA_RUNTIME_SIGNATURE_CHECK_H_

#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/tensor.h"
#include "runtime/model_config.h"

namespace strata::runtime {

// Zero-filled inputs, one per declared input, with every variable dimension
// set to `batch` (for a dry run at load time). Error for BYTES inputs.
absl::StatusOr<std::vector<core::Tensor>> MakeDryRunInputs(const ModelConfig& config,
                                                           int64_t batch);

// Checks that `outputs` match the declared outputs in count, name, datatype
// and shape; the error names the first mismatch.
absl::Status CheckOutputsMatch(const ModelConfig& config, std::span<const core::Tensor> outputs);

// Reads an integer backend option, or `fallback` when absent.
absl::StatusOr<int> IntParameter(const ModelConfig& config, std::string_view key, int fallback);

// The artifact file of a version: the `artifact` parameter (a path inside
// the version directory) or `default_name`. NOT_FOUND when it is missing;
// INVALID_ARGUMENT when the parameter points outside the directory.
absl::StatusOr<std::filesystem::path> ArtifactPath(const ModelConfig& config,
                                                   const std::filesystem::path& version_dir,
                                                   std::string_view default_name);

// The `threads` parameter (default 1); INVALID_ARGUMENT when below 1.
absl::StatusOr<int> ThreadsParameter(const ModelConfig& config);

// A tree model's signature (the xgboost and trees backends): one FP32
// [-1, F] input with a fixed F and one FP32 output of shape [-1] or [-1, K];
// checked before the artifact is read. The error names `backend`.
absl::Status CheckTreeModelSignature(const ModelConfig& config, std::string_view backend);

// A request's inputs for a model taking one FP32 [N, width] matrix (the tree
// and dense engines): INVALID_ARGUMENT naming `model` unless there is exactly
// one such tensor with matching data.
absl::Status CheckOneFp32Matrix(std::span<const core::Tensor> inputs, int64_t width,
                                std::string_view model);

}  // namespace strata::runtime

#endif  // STRATA_RUNTIME_SIGNATURE_CHECK_H_
