#include "serving/plans/default_stage.h"

#include <cstring>

namespace strata::serving {
namespace {

// Writes `value` as one element of `dtype` at `out`; other types keep zero.
void PutValue(core::DataType dtype, double value, uint8_t* out) {
  auto put = [&](auto v) { std::memcpy(out, &v, sizeof v); };
  switch (dtype) {
    case core::DataType::kFp32:
      put(static_cast<float>(value));
      break;
    case core::DataType::kFp64:
      put(value);
      break;
    case core::DataType::kInt32:
      put(static_cast<int32_t>(value));
      break;
    case core::DataType::kInt64:
      put(static_cast<int64_t>(value));
      break;
    case core::DataType::kBool:
    case core::DataType::kUint8:
      put(static_cast<uint8_t>(value));
      break;
    default:
      break;
  }
}

}  // namespace

void DefaultStage::Run(std::shared_ptr<RowBatch> batch, Next next) const {
  const RowLayout& layout = *batch->layout;
  // One row of defaults, copied into every unanswered row.
  std::vector<uint8_t> row(layout.row_bytes, 0);
  for (const OutputSlot& slot : layout.slots) {
    const size_t element = core::ElementSize(slot.dtype);
    for (size_t at = 0; element > 0 && at + element <= slot.bytes; at += element) {
      PutValue(slot.dtype, value_, row.data() + slot.offset + at);
    }
  }
  int64_t answered = 0;
  for (size_t r = 0; r < batch->rows(); ++r) {
    if (batch->layers[r] != Layer::kNone) continue;
    if (!row.empty()) std::memcpy(batch->Row(r), row.data(), row.size());
    batch->layers[r] = Layer::kDefault;
    ++answered;
  }
  recorder_.Record(Layer::kDefault, answered, RowBatch::Clock::now() - batch->start);
  next(absl::OkStatus());
}

}  // namespace strata::serving
