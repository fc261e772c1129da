#include "api/reserved_parameters.h"

#include <cmath>
#include <string>

#include "fmt/format.h"

namespace strata::api {
namespace {

absl::Status Unsupported(std::string_view key, std::string_view why) {
  return absl::InvalidArgumentError(
      fmt::format("parameter '{}' is not supported by strata: {}", key, why));
}

absl::Status Invalid(std::string_view key, std::string_view must) {
  return absl::InvalidArgumentError(fmt::format("parameter '{}' must be {}", key, must));
}

bool IsBool(const core::ParameterValue& v) { return std::holds_alternative<bool>(v); }

bool IsTrue(const core::ParameterValue& v) { return IsBool(v) && std::get<bool>(v); }

// A whole number >= `least` (JSON and gRPC may deliver a large unsigned
// value as a double).
bool IsCount(const core::ParameterValue& v, int64_t least) {
  if (const auto* i = std::get_if<int64_t>(&v)) return *i >= least;
  if (const auto* d = std::get_if<double>(&v)) {
    return std::isfinite(*d) && *d >= static_cast<double>(least) && std::floor(*d) == *d;
  }
  return false;
}

bool IsNoSequence(const core::ParameterValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return *i == 0;
  if (const auto* s = std::get_if<std::string>(&v)) return s->empty();
  return false;
}

bool IsSharedMemory(std::string_view key) {
  return key == "shared_memory_region" || key == "shared_memory_byte_size" ||
         key == "shared_memory_offset";
}

absl::Status CheckRequestParameter(std::string_view key, const core::ParameterValue& value) {
  if (key == "timeout") {
    const bool number =
        std::holds_alternative<int64_t>(value) ||
        (std::holds_alternative<double>(value) && std::isfinite(std::get<double>(value)));
    return number ? absl::OkStatus() : Invalid(key, "a finite number of microseconds");
  }
  if (key == "binary_data_output" || key == "triton_enable_empty_final_response" ||
      key == "return_features") {
    return IsBool(value) ? absl::OkStatus() : Invalid(key, "true or false");
  }
  if (key == "priority") {
    return IsCount(value, 0) ? absl::OkStatus() : Invalid(key, "a non-negative integer");
  }
  if (key == "sequence_id" && !IsNoSequence(value)) {
    return Unsupported(key,
                       "it serves stateless models and has no sequence batcher "
                       "(sequence_id 0 or \"\", meaning no sequence, is accepted)");
  }
  if ((key == "sequence_start" || key == "sequence_end") && (!IsBool(value) || IsTrue(value))) {
    return Unsupported(key,
                       "it serves stateless models and has no sequence batcher "
                       "(false is accepted)");
  }
  return absl::OkStatus();
}

absl::Status CheckTensorParameter(ParameterScope scope, std::string_view key,
                                  const core::ParameterValue& value) {
  const bool input = scope == ParameterScope::kInput;
  if (input && key == "binary_data_size") {
    return IsCount(value, 0) && std::holds_alternative<int64_t>(value)
               ? absl::OkStatus()
               : Invalid(key, "a non-negative integer");
  }
  if (!input && key == "binary_data") {
    return IsBool(value) ? absl::OkStatus() : Invalid(key, "true or false");
  }
  if (key == "classification") {
    if (input) return Unsupported(key, "classification applies to requested outputs");
    return std::holds_alternative<int64_t>(value) && IsCount(value, 1)
               ? absl::OkStatus()
               : Invalid(key, "a positive integer (the number of top classes)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckParameter(ParameterScope scope, std::string_view key,
                            const core::ParameterValue& value) {
  if (IsSharedMemory(key)) {
    return Unsupported(key,
                       "it has no shared-memory extension; send the tensor's data in "
                       "the request");
  }
  if (key.starts_with("triton_") && key != "triton_enable_empty_final_response") {
    return Unsupported(key,
                       "it is a Triton server option that strata does not know (of "
                       "the triton_ parameters strata accepts only "
                       "triton_enable_empty_final_response)");
  }
  if (scope == ParameterScope::kRequest) return CheckRequestParameter(key, value);
  if (key == "triton_enable_empty_final_response") {
    return Unsupported(key, "it is a request parameter, not a tensor's");
  }
  return CheckTensorParameter(scope, key, value);
}

absl::Status CheckRepositoryParameter(RepositoryAction action, std::string_view key,
                                      const core::ParameterValue& value) {
  if (action == RepositoryAction::kUnload && key == "unload_dependents") {
    return IsBool(value) ? absl::OkStatus() : Invalid(key, "true or false");
  }
  if (action == RepositoryAction::kLoad && (key == "config" || key.starts_with("file:"))) {
    return Unsupported(key,
                       "strata loads a model's config.yaml and files from the "
                       "repository; write them there, then call load");
  }
  return Unsupported(key, action == RepositoryAction::kLoad
                              ? "load takes no parameters"
                              : "unload takes only unload_dependents");
}

}  // namespace strata::api
