#include "serving/warmup.h"

#include <random>

#include "core/status_macros.h"
#include "fmt/format.h"
#include "runtime/signature_check.h"
#include "serving/request_validator.h"

namespace strata::serving {
namespace {

void Randomize(core::Tensor& tensor, std::mt19937& rng) {
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  core::VisitDataType(tensor.dtype, [&](auto tag) {
    using Tag = decltype(tag);
    if constexpr (Tag::kIsFloat) {
      for (auto& v : tensor.MutableAs<typename Tag::Element>()) v = unit(rng);
    } else {  // integers and the rest: small non-negative values
      for (uint8_t& b : tensor.data) b = static_cast<uint8_t>(rng() & 1);
    }
  });
}

absl::StatusOr<std::vector<std::vector<core::Tensor>>> WarmupInputs(
    const runtime::ModelConfig& config, const std::filesystem::path& version_dir,
    const WarmupReader& reader) {
  const runtime::LifecycleConfig& lifecycle = config.lifecycle;
  std::vector<std::vector<core::Tensor>> batches;
  if (!lifecycle.warmup_samples.empty()) {
    if (!reader) return absl::FailedPreconditionError("no warm-up file reader");
    const std::filesystem::path file = version_dir / lifecycle.warmup_samples;
    STRATA_ASSIGN_OR_RETURN(std::vector<core::InferRequest> requests, reader(file));
    if (requests.empty()) {
      return absl::InvalidArgumentError(
          fmt::format("warm-up file {} holds no request", file.string()));
    }
    for (core::InferRequest& request : requests) {
      STRATA_RETURN_IF_ERROR(ValidateAndOrderInputs(config, request));
      batches.push_back(std::move(request.inputs));
    }
  }
  if (!lifecycle.warmup_generate.empty()) {
    std::mt19937 rng(0);
    for (int64_t i = 0; i < lifecycle.warmup_count; ++i) {
      STRATA_ASSIGN_OR_RETURN(std::vector<core::Tensor> inputs,
                              runtime::MakeDryRunInputs(config, 1));
      if (lifecycle.warmup_generate == "random") {
        for (core::Tensor& t : inputs) Randomize(t, rng);
      }
      batches.push_back(std::move(inputs));
    }
  }
  return batches;
}

}  // namespace

absl::Status WarmUp(runtime::Model& model, const runtime::ModelConfig& config,
                    const std::filesystem::path& version_dir, const WarmupReader& reader) {
  absl::StatusOr<std::vector<std::vector<core::Tensor>>> batches =
      WarmupInputs(config, version_dir, reader);
  if (!batches.ok()) {
    return absl::FailedPreconditionError(
        fmt::format("warm-up failed: {}", std::string(batches.status().message())));
  }
  for (size_t i = 0; i < batches->size(); ++i) {
    absl::StatusOr<std::vector<core::Tensor>> outputs = model.Run((*batches)[i]);
    absl::Status status =
        outputs.ok() ? runtime::CheckOutputsMatch(config, *outputs) : outputs.status();
    if (!status.ok()) {
      return absl::FailedPreconditionError(fmt::format("warm-up request {} of {} failed: {}", i + 1,
                                                       batches->size(),
                                                       std::string(status.message())));
    }
  }
  return absl::OkStatus();
}

}  // namespace strata::serving
