// Fitting computes a definition's fitted parameters from training rows:
// means and deviations (standardize), minimum and maximum (min_max),
// quantile boundaries (bucketize, `quantiles` buckets), and vocabularies (the
// `max_vocabulary` most frequent values, ties broken by value). Parameters
// already given in the definition are kept. `strata features fit` and the
// Python binding call it. Pure.
#ifndef STRATA_FEATURES_FITTING_H_
#define STRATA_FEATURES_FITTING_H_

#include "absl/status/statusor.h"
#include "features/feature_definition.h"
#include "features/feature_value.h"

namespace strata::features {

// `rows` are laid out by the slots of a pipeline over `definition`
// (FeaturePipeline::slots(), which an unfitted definition also has:
// SlotsOf()). Error when a feature has no non-missing value to fit on.
absl::StatusOr<FeatureDefinition> Fit(const FeatureDefinition& definition, const RawRows& rows);

}  // namespace strata::features

#endif  // STRATA_FEATURES_FITTING_H_
