#include "serving/plans/table_stage.h"

#include <cstring>

#include "fmt/format.h"

namespace strata::serving {

void TableStage::Run(std::shared_ptr<RowBatch> batch, Next next) const {
  if (!batch->table || batch->layout->table_offsets.empty()) return next(absl::OkStatus());
  const std::shared_ptr<const store::PredictionTable> table = batch->table;
  const RowBatch::Clock::time_point start = RowBatch::Clock::now();
  table->MultiGetAsync(batch->keys, [this, batch, start, next = std::move(next)](
                                        absl::StatusOr<store::LookupResult> got) {
    next(Take(*batch, got, start));
  });
}

absl::Status TableStage::Take(RowBatch& batch, const absl::StatusOr<store::LookupResult>& got,
                              RowBatch::Clock::time_point start) const {
  const size_t rows = batch.rows();
  if (!got.ok()) {
    if (fail_when_unavailable_) {
      return absl::UnavailableError(
          fmt::format("endpoint '{}': {}", batch.endpoint, std::string(got.status().message())));
    }
    batch.degraded = true;  // every row goes on to the next stage
    recorder_.RecordTableUnavailable(static_cast<int64_t>(rows));
    return absl::OkStatus();
  }
  const RowLayout& layout = *batch.layout;
  batch.table_answered = true;
  int64_t answered = 0;
  for (size_t r = 0; r < rows; ++r) {
    const std::string& stored = got->values[r];
    if (!got->found[r] || batch.layers[r] != Layer::kNone ||
        stored.size() != layout.table_value_bytes) {
      continue;
    }
    uint8_t* row = batch.Row(r);
    if (layout.table_row_is_row) {
      std::memcpy(row, stored.data(), layout.row_bytes);
    } else {
      for (size_t o = 0; o < layout.slots.size(); ++o) {
        std::memcpy(row + layout.slots[o].offset, stored.data() + layout.table_offsets[o],
                    layout.slots[o].bytes);
      }
    }
    batch.layers[r] = Layer::kTable;
    ++answered;
  }
  recorder_.Record(Layer::kTable, answered, RowBatch::Clock::now() - start);
  return absl::OkStatus();
}

}  // namespace strata::serving
