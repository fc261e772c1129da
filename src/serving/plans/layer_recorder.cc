#include "serving/plans/layer_recorder.h"

namespace strata::serving {

void LayerRecorder::Record(Layer layer, int64_t rows, std::chrono::nanoseconds took) const {
  if (metrics_ == nullptr || rows <= 0) return;
  std::atomic<ServerMetrics::LayerSeries*>& slot = series_[static_cast<size_t>(layer)];
  ServerMetrics::LayerSeries* series = slot.load(std::memory_order_acquire);
  if (series == nullptr) {  // the first rows of this layer: find its series once
    series = &metrics_->LayerSeriesOf(endpoint_, std::string(LayerName(layer)));
    slot.store(series, std::memory_order_release);
  }
  series->Record(rows, took);
}

void LayerRecorder::RecordTableUnavailable(int64_t rows) const {
  if (metrics_ != nullptr && rows > 0) metrics_->RecordTableUnavailable(endpoint_, rows);
}

}  // namespace strata::serving
