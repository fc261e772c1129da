// Reads a key-only request into the raw rows of a model's feature pipeline
// (features/feature_value.h): each input tensor is named as an entity's key
// column or a request-time field of the model's features.yaml, one element
// per row ([rows] or [rows, 1]). Key columns are required and typed (INT64
// from any integer tensor, STRING from BYTES); request fields are optional
// unless the definition requires them (the pipeline refuses those rows).
// Every error is INVALID_ARGUMENT naming the input. Pure; thread-safe.
#ifndef STRATA_SERVING_FEATURE_INPUTS_H_
#define STRATA_SERVING_FEATURE_INPUTS_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/infer_request.h"
#include "core/tensor.h"
#include "features/feature_pipeline.h"

namespace strata::serving {

// The rows of a key-only request: its row count (from the inputs), or an
// error naming the input whose shape is not [rows] / [rows, 1].
absl::StatusOr<size_t> FeatureRequestRows(std::span<const core::Tensor> inputs,
                                          std::string_view model);

// The raw rows of `rows` (indices into the request's rows, in order) with
// the request and key slots filled and the table slots missing. Errors name
// an unknown input, a missing key column, or an input of the wrong type.
absl::StatusOr<features::RawRows> ReadRawRows(const features::FeaturePipeline& pipeline,
                                              std::span<const core::Tensor> inputs,
                                              std::span<const size_t> rows, std::string_view model);

// The request parameter that asks for the feature vectors (docs/features.md).
inline constexpr std::string_view kReturnFeaturesParameter = "return_features";

// Takes the `return_features` parameter out of `parameters`: whether it is
// true. INVALID_ARGUMENT when it is not a boolean.
absl::StatusOr<bool> TakeReturnFeatures(core::Parameters& parameters);

// The `features` output: `vectors` (rows x width floats) as FP32 [rows, width].
core::Tensor FeatureVectorsTensor(std::vector<float> vectors, size_t rows, size_t width);

// The names a key-only request may send: every entity key column, then every
// request field (for error messages and metadata).
std::vector<std::string> FeatureRequestNames(const features::FeatureDefinition& definition);

}  // namespace strata::serving

#endif  // STRATA_SERVING_FEATURE_INPUTS_H_
