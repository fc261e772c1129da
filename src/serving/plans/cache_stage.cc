#include "serving/plans/cache_stage.h"

#include <cstring>

namespace strata::serving {

void CacheStage::Run(std::shared_ptr<RowBatch> batch, Next next) const {
  const RowBatch::Clock::time_point start = RowBatch::Clock::now();
  const RowLayout& layout = *batch->layout;
  std::string key = layout.cache_prefix;
  const size_t prefix = key.size();
  std::string value;
  int64_t answered = 0;
  for (size_t row = 0; row < batch->rows(); ++row) {
    if (batch->layers[row] != Layer::kNone) continue;
    key.resize(prefix);
    key.append(batch->keys[row]);
    if (cache_.Get(key, value) && value.size() == layout.row_bytes) {
      std::memcpy(batch->Row(row), value.data(), layout.row_bytes);
      batch->layers[row] = Layer::kCache;
      ++answered;
    }
  }
  recorder_.Record(Layer::kCache, answered, RowBatch::Clock::now() - start);
  next(absl::OkStatus());
}

void CacheFillStage::Run(std::shared_ptr<RowBatch> batch, Next next) const {
  const RowLayout& layout = *batch->layout;
  std::string key = layout.cache_prefix;
  const size_t prefix = key.size();
  for (size_t row : batch->model_rows) {
    key.resize(prefix);
    key.append(batch->keys[row]);
    cache_.Put(key,
               std::string_view(reinterpret_cast<const char*>(batch->Row(row)), layout.row_bytes));
  }
  next(absl::OkStatus());
}

}  // namespace strata::serving
