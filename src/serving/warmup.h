// Warm-up: the requests a new version runs before it takes traffic, so its
// first real request does not pay for lazy initialisation, and a version
// that cannot answer never serves. Thread-compatible.
#ifndef STRATA_SERVING_WARMUP_H_
#define STRATA_SERVING_WARMUP_H_

#include <filesystem>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "core/infer_request.h"
#include "runtime/model.h"
#include "runtime/model_config.h"

namespace strata::serving {

// Reads the inference requests of a warm-up samples file. The serving core
// knows no wire format; the composition root supplies a reader (the KServe
// JSON one).
using WarmupReader = std::function<absl::StatusOr<std::vector<core::InferRequest>>(
    const std::filesystem::path& file)>;

// Runs the warm-up that `config.lifecycle` asks for against `model`, checking
// every answer against the declared outputs. OK when no warm-up is set.
absl::Status WarmUp(runtime::Model& model, const runtime::ModelConfig& config,
                    const std::filesystem::path& version_dir, const WarmupReader& reader);

}  // namespace strata::serving

#endif  // STRATA_SERVING_WARMUP_H_
