// Resolving a feature's source text ("table.column", "request.field",
// "<entity>.<key column>") to the raw input it names (private to
// src/features). Pure functions.
#ifndef STRATA_FEATURES_SLOT_RESOLUTION_H_
#define STRATA_FEATURES_SLOT_RESOLUTION_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "features/feature_definition.h"
#include "features/feature_pipeline.h"

namespace strata::features {

inline constexpr std::string_view kRequestOwner = "request";

// The slot `source` names; INVALID_ARGUMENT saying what is unknown.
absl::StatusOr<Slot> ResolveSource(const FeatureDefinition& definition, std::string_view source);

}  // namespace strata::features

#endif  // STRATA_FEATURES_SLOT_RESOLUTION_H_
