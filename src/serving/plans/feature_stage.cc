#include "serving/plans/feature_stage.h"

#include <cstring>
#include <numeric>

#include "fmt/format.h"
#include "serving/feature_inputs.h"
#include "serving/model_repository.h"
#include "serving/plans/row_tensors.h"
#include "serving/served_features.h"

namespace strata::serving {
namespace {

absl::Status InEndpoint(const RowBatch& batch, const absl::Status& status) {
  return absl::Status(status.code(), fmt::format("endpoint '{}': {}", batch.endpoint,
                                                 std::string(status.message())));
}

// `computed` (one row per entry of `rows`) spread over `total` rows; rows
// not computed stay zero (no stage after this one reads them).
std::vector<core::Tensor> Spread(std::vector<core::Tensor> computed,
                                 const std::vector<size_t>& rows, size_t total) {
  if (rows.size() == total) return computed;
  for (core::Tensor& t : computed) {
    const size_t row_bytes = rows.empty() ? 0 : t.data.size() / rows.size();
    std::vector<uint8_t> full(total * row_bytes, 0);
    for (size_t i = 0; i < rows.size(); ++i) {
      std::memcpy(full.data() + rows[i] * row_bytes, t.data.data() + i * row_bytes, row_bytes);
    }
    t.data = std::move(full);
    t.shape[0] = static_cast<int64_t>(total);
  }
  return computed;
}

// The deadline the request's `timeout` parameter (microseconds) sets; none
// when it sets none or is not a number (the model's queue refuses those).
std::optional<RowBatch::Clock::time_point> RequestDeadline(const RowBatch& batch) {
  auto it = batch.parameters.find("timeout");
  if (it == batch.parameters.end()) return std::nullopt;
  double us = 0;
  if (const auto* i = std::get_if<int64_t>(&it->second)) us = static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&it->second)) us = *d;
  if (!(us >= 1 && us < 1e12)) return std::nullopt;
  return batch.start + std::chrono::microseconds(static_cast<int64_t>(us));
}

}  // namespace

void FeatureStage::Run(std::shared_ptr<RowBatch> batch, Next next) const {
  if (batch->features_done) return next(absl::OkStatus());
  const std::shared_ptr<const ServedFeatures>& features = batch->model->features;
  absl::StatusOr<bool> want = TakeReturnFeatures(batch->parameters);
  if (!want.ok()) return next(InEndpoint(*batch, want.status()));
  if (!features) {
    if (!*want) return next(absl::OkStatus());
    return next(InEndpoint(
        *batch, absl::InvalidArgumentError(fmt::format(
                    "parameter '{}': model '{}' version {} has no features.yaml",
                    kReturnFeaturesParameter, batch->model->name, batch->model->version))));
  }
  const bool by_vector = batch->key_schema.size() == 0;
  if (place_ == Place::kBeforeCache && !by_vector) {
    if (*want) batch->parameters[std::string(kReturnFeaturesParameter)] = true;  // for later
    return next(absl::OkStatus());
  }
  batch->features_done = true;
  std::vector<size_t> rows(batch->rows());
  std::iota(rows.begin(), rows.end(), size_t{0});
  if (!*want && !by_vector) rows = batch->Unanswered();
  if (rows.empty()) {  // every row answered: the request is still checked
    absl::Status valid =
        ReadRawRows(features->pipeline(), batch->model_inputs, {}, batch->model->name).status();
    return next(valid.ok() ? valid : InEndpoint(*batch, valid));
  }
  ServedFeatures::Job job{.inputs = std::move(batch->model_inputs),
                          .rows = rows,
                          .deadline = RequestDeadline(*batch),
                          .request_id = batch->id,
                          .want_vectors = *want};
  features->ComputeAsync(std::move(job), [batch, features, rows, by_vector, next = std::move(next)](
                                             absl::StatusOr<ServedFeatures::Computed> computed) {
    if (!computed.ok()) return next(InEndpoint(*batch, computed.status()));
    const size_t total = batch->rows();
    batch->model_inputs = Spread(std::move(computed->inputs), rows, total);
    batch->inputs_validated = false;
    batch->degraded |= computed->degraded;
    if (!computed->vectors.empty()) {  // asked for: every row was computed
      batch->feature_vectors =
          FeatureVectorsTensor(std::move(computed->vectors), total, features->width());
    }
    if (by_vector) {
      absl::StatusOr<std::vector<std::string>> keys = RowInputKeys(batch->model_inputs);
      if (!keys.ok()) return next(InEndpoint(*batch, keys.status()));
      batch->keys = *std::move(keys);
    }
    next(absl::OkStatus());
  });
}

}  // namespace strata::serving
