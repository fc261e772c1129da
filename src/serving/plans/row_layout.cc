#include "serving/plans/row_layout.h"

#include "fmt/format.h"
#include "serving/prediction_cache.h"

namespace strata::serving {
namespace {

absl::StatusOr<OutputSlot> SlotOf(const runtime::TensorSpec& spec, const std::string& model) {
  if (spec.dtype == core::DataType::kBytes || spec.shape.empty()) {
    return absl::FailedPreconditionError(
        fmt::format("model '{}' output '{}' has no fixed size per row; a hybrid plan needs one",
                    model, spec.name));
  }
  OutputSlot slot{spec.name, spec.dtype, {}, core::ElementSize(spec.dtype), 0};
  for (size_t d = 1; d < spec.shape.size(); ++d) {
    if (spec.shape[d] < 0) {
      return absl::FailedPreconditionError(fmt::format(
          "model '{}' output '{}' has a variable dimension; a hybrid plan needs a fixed "
          "size per row",
          model, spec.name));
    }
    slot.row_shape.push_back(spec.shape[d]);
    slot.bytes *= static_cast<size_t>(spec.shape[d]);
  }
  return slot;
}

// Where each slot sits in a table row; empty when the table lacks one of
// the outputs or has it with another type or size.
std::vector<size_t> TableOffsets(const store::TableManifest& manifest,
                                 const std::vector<OutputSlot>& slots) {
  std::vector<size_t> offsets;
  for (const OutputSlot& slot : slots) {
    size_t offset = 0;
    bool found = false;
    for (const store::OutputColumn& column : manifest.outputs) {
      if (column.name == slot.name) {
        if (column.dtype != slot.dtype || column.BytesPerRow() != slot.bytes) return {};
        offsets.push_back(offset);
        found = true;
        break;
      }
      offset += column.BytesPerRow();
    }
    if (!found) return {};
  }
  return offsets;
}

}  // namespace

std::shared_ptr<const RowLayout> TableLayout(const store::TableManifest& manifest) {
  auto layout = std::make_shared<RowLayout>();
  for (const store::OutputColumn& column : manifest.outputs) {
    layout->slots.push_back(
        {column.name, column.dtype, column.shape, column.BytesPerRow(), layout->row_bytes});
    layout->table_offsets.push_back(layout->row_bytes);
    layout->row_bytes += column.BytesPerRow();
  }
  layout->table_value_bytes = manifest.ValueSize();
  layout->table_row_is_row = layout->table_value_bytes == layout->row_bytes;
  return layout;
}

absl::StatusOr<std::shared_ptr<const RowLayout>> ModelLayout(const runtime::ModelConfig& config,
                                                             const std::string& model,
                                                             int64_t version,
                                                             const store::TableManifest* table) {
  auto layout = std::make_shared<RowLayout>();
  for (const runtime::TensorSpec& spec : config.outputs) {
    absl::StatusOr<OutputSlot> slot = SlotOf(spec, model);
    if (!slot.ok()) return slot.status();
    slot->offset = layout->row_bytes;
    layout->row_bytes += slot->bytes;
    layout->slots.push_back(*std::move(slot));
  }
  layout->cache_prefix = PredictionCache::Key(model, version, "");
  if (table == nullptr || table->model_name != model || table->model_version != version) {
    return layout;
  }
  layout->table_offsets = TableOffsets(*table, layout->slots);
  layout->table_value_bytes = table->ValueSize();
  bool in_order = !layout->table_offsets.empty() && table->ValueSize() == layout->row_bytes;
  for (size_t o = 0; in_order && o < layout->slots.size(); ++o) {
    in_order = layout->table_offsets[o] == layout->slots[o].offset;
  }
  layout->table_row_is_row = in_order;
  return layout;
}

}  // namespace strata::serving
