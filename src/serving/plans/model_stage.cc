#include "serving/plans/model_stage.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "fmt/format.h"
#include "serving/model_repository.h"
#include "serving/plans/row_tensors.h"

namespace strata::serving {
namespace {

absl::Status InEndpoint(const RowBatch& batch, const absl::Status& status) {
  return absl::Status(status.code(), fmt::format("endpoint '{}': {}", batch.endpoint,
                                                 std::string(status.message())));
}

}  // namespace

void ModelStage::Run(std::shared_ptr<RowBatch> batch, Next next) const {
  std::vector<size_t> misses = batch->Unanswered();
  if (misses.empty()) return next(absl::OkStatus());
  auto computed_by = std::make_shared<std::vector<size_t>>();
  absl::StatusOr<core::InferRequest> request = ModelRequest(*batch, misses, *computed_by);
  if (!request.ok()) return next(InEndpoint(*batch, request.status()));
  if (!batch->inputs_validated) {
    absl::Status valid = runner_.Validate(*batch->model, *request);
    if (!valid.ok()) return next(InEndpoint(*batch, valid));
  }
  const RowBatch::Clock::time_point start = RowBatch::Clock::now();
  runner_.Run(batch->model, *std::move(request),
              [this, batch, start, misses = std::move(misses), computed_by,
               next = std::move(next)](absl::StatusOr<core::InferResponse> answered) {
                if (!answered.ok()) return next(InEndpoint(*batch, answered.status()));
                absl::Status s = Take(*batch, *answered, misses, *computed_by);
                if (s.ok()) {
                  recorder_.Record(Layer::kModel, static_cast<int64_t>(misses.size()),
                                   RowBatch::Clock::now() - start);
                }
                next(std::move(s));
              });
}

absl::StatusOr<core::InferRequest> ModelStage::ModelRequest(RowBatch& batch,
                                                            const std::vector<size_t>& misses,
                                                            std::vector<size_t>& computed_by) {
  std::unordered_map<std::string_view, size_t> first;
  for (size_t r : misses) {
    auto [it, added] = first.try_emplace(batch.keys[r], batch.model_rows.size());
    if (added) batch.model_rows.push_back(r);
    computed_by.push_back(it->second);
  }
  const size_t rows = batch.rows();
  core::InferRequest request;
  request.model_name = batch.model->name;
  request.parameters = std::move(batch.parameters);
  for (core::Tensor& input : batch.model_inputs) {
    if (batch.model_rows.size() == rows) {
      request.inputs.push_back(std::move(input));
      continue;
    }
    absl::StatusOr<core::Tensor> gathered = GatherRows(input, batch.model_rows, rows);
    if (!gathered.ok()) return gathered.status();
    request.inputs.push_back(*std::move(gathered));
  }
  batch.model_inputs.clear();
  return request;
}

absl::Status ModelStage::Take(RowBatch& batch, const core::InferResponse& answered,
                              const std::vector<size_t>& misses,
                              const std::vector<size_t>& computed_by) {
  const RowLayout& layout = *batch.layout;
  const size_t computed = batch.model_rows.size();
  for (const OutputSlot& slot : layout.slots) {
    auto it = std::find_if(answered.outputs.begin(), answered.outputs.end(),
                           [&](const core::Tensor& t) { return t.name == slot.name; });
    if (it == answered.outputs.end() || it->data.size() != computed * slot.bytes) {
      return absl::InternalError(
          fmt::format("endpoint '{}': model output '{}' missing or of the wrong size",
                      batch.endpoint, slot.name));
    }
    for (size_t i = 0; i < computed; ++i) {
      std::memcpy(batch.Row(batch.model_rows[i]) + slot.offset, it->data.data() + i * slot.bytes,
                  slot.bytes);
    }
  }
  for (size_t i = 0; i < misses.size(); ++i) {
    const size_t r = misses[i];
    batch.layers[r] = Layer::kModel;
    const size_t computed_row = batch.model_rows[computed_by[i]];
    if (r != computed_row) std::memcpy(batch.Row(r), batch.Row(computed_row), layout.row_bytes);
  }
  return absl::OkStatus();
}

}  // namespace strata::serving
