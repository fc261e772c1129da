#include "serving/plans/plan_response.h"

#include <algorithm>
#include <cstring>

#include "fmt/format.h"

namespace strata::serving {
namespace {

// One tensor per slot, rows in order.
std::vector<core::Tensor> SlotTensors(RowBatch& batch) {
  const RowLayout& layout = *batch.layout;
  const size_t rows = batch.rows();
  std::vector<core::Tensor> outputs;
  outputs.reserve(layout.slots.size() + 1);
  for (const OutputSlot& slot : layout.slots) {
    core::Tensor out;
    out.name = slot.name;
    out.dtype = slot.dtype;
    out.shape.push_back(static_cast<int64_t>(rows));
    out.shape.insert(out.shape.end(), slot.row_shape.begin(), slot.row_shape.end());
    if (layout.slots.size() == 1) {
      out.data = std::move(batch.values);  // the row is this one output
    } else {
      out.data.resize(rows * slot.bytes);
      for (size_t r = 0; r < rows; ++r) {
        std::memcpy(out.data.data() + r * slot.bytes, batch.Row(r) + slot.offset, slot.bytes);
      }
    }
    outputs.push_back(std::move(out));
  }
  return outputs;
}

// The response carrying the outputs the request named, in its order (all
// when it named none).
absl::StatusOr<core::InferResponse> Select(RowBatch& batch, std::vector<core::Tensor> outputs) {
  core::InferResponse response;
  response.model_name = batch.endpoint;
  response.id = std::move(batch.id);
  if (batch.requested.empty()) {
    response.outputs = std::move(outputs);
    return response;
  }
  for (const core::RequestedOutput& wanted : batch.requested) {
    auto it = std::find_if(outputs.begin(), outputs.end(),
                           [&](const core::Tensor& t) { return t.name == wanted.name; });
    if (it == outputs.end()) {
      return absl::InvalidArgumentError(
          fmt::format("endpoint '{}' has no output '{}'", batch.endpoint, wanted.name));
    }
    response.outputs.push_back(*it);
  }
  return response;
}

}  // namespace

absl::StatusOr<core::InferResponse> StaticResponse(RowBatch& batch) {
  const size_t rows = batch.rows();
  core::Tensor found =
      core::Tensor::Zeros("found", core::DataType::kBool, {static_cast<int64_t>(rows)});
  for (size_t r = 0; r < rows; ++r) found.data[r] = batch.layers[r] == Layer::kTable;
  std::vector<core::Tensor> outputs = SlotTensors(batch);
  outputs.push_back(std::move(found));
  absl::StatusOr<core::InferResponse> response = Select(batch, std::move(outputs));
  if (!response.ok()) return response;
  const store::TableManifest& manifest = batch.table->manifest();
  response->model_version = std::to_string(manifest.version);
  response->parameters["table"] = manifest.table;
  response->parameters["table_version"] = manifest.version;
  response->parameters["model"] = manifest.model_name;
  response->parameters["model_version"] = manifest.model_version;
  response->parameters["layer"] =
      std::string(LayerName(batch.degraded ? Layer::kDefault : Layer::kTable));
  if (batch.degraded) response->parameters["degraded"] = true;
  return response;
}

absl::StatusOr<core::InferResponse> LayeredResponse(RowBatch& batch, const std::string& model,
                                                    int64_t model_version) {
  const size_t rows = batch.rows();
  core::Tensor layer{"layer", core::DataType::kBytes, {static_cast<int64_t>(rows)}, {}};
  layer.data.reserve(rows * 9);
  for (Layer l : batch.layers) core::AppendBytesElement(LayerName(l), layer.data);
  std::vector<core::Tensor> outputs = SlotTensors(batch);
  outputs.push_back(std::move(layer));
  absl::StatusOr<core::InferResponse> response = Select(batch, std::move(outputs));
  if (!response.ok()) return response;
  core::Parameters& p = response->parameters;
  response->model_version = std::to_string(model_version);
  p["model"] = model;
  p["model_version"] = response->model_version;
  std::string single = "mixed";
  for (Layer l : {Layer::kTable, Layer::kCache, Layer::kModel}) {
    const int64_t count = batch.Count(l);
    p[fmt::format("layer_{}", LayerName(l))] = count;
    if (count == static_cast<int64_t>(rows)) single = std::string(LayerName(l));
  }
  p["layer"] = rows == 0 ? std::string(LayerName(Layer::kNone)) : single;
  if (batch.table_answered) {
    p["table"] = batch.table->manifest().table;
    p["table_version"] = batch.table->manifest().version;
  }
  if (batch.degraded) p["degraded"] = true;
  if (batch.feature_vectors) response->outputs.push_back(*std::move(batch.feature_vectors));
  return response;
}

}  // namespace strata::serving
