#include "serving/plans/row_batch.h"

#include <algorithm>

#include "serving/row_keys.h"

namespace strata::serving {

void RowBatch::Reset(std::shared_ptr<const RowLayout> row_layout) {
  layout = std::move(row_layout);
  values.assign(rows() * layout->row_bytes, 0);
  layers.assign(rows(), Layer::kNone);
}

int64_t RowBatch::Count(Layer layer) const {
  return static_cast<int64_t>(std::count(layers.begin(), layers.end(), layer));
}

std::vector<size_t> RowBatch::Unanswered() const {
  std::vector<size_t> rows;
  for (size_t r = 0; r < layers.size(); ++r) {
    if (layers[r] == Layer::kNone) rows.push_back(r);
  }
  return rows;
}

std::vector<std::string> RowBatch::KeyTexts() const { return KeyTextsOf(key_schema, keys); }

}  // namespace strata::serving
