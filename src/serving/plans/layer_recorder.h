// LayerRecorder records the rows each layer of one endpoint's plan answered
// (strata_endpoint_rows_total, strata_endpoint_layer_duration_seconds) and
// the rows whose table lookup failed. An endpoint obtains one; its series
// are found once per layer, never by name per request. Without metrics it
// records nothing (tests). Thread-safe.
#ifndef STRATA_SERVING_PLANS_LAYER_RECORDER_H_
#define STRATA_SERVING_PLANS_LAYER_RECORDER_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "serving/plans/plan_kind.h"
#include "serving/server_metrics.h"

namespace strata::serving {

class LayerRecorder {
 public:
  LayerRecorder() = default;  // records nothing
  LayerRecorder(ServerMetrics* metrics, std::string endpoint)
      : metrics_(metrics), endpoint_(std::move(endpoint)) {}
  LayerRecorder(const LayerRecorder&) = delete;
  LayerRecorder& operator=(const LayerRecorder&) = delete;

  // `rows` answered by `layer` in one request, which took `took`; nothing
  // for zero rows.
  void Record(Layer layer, int64_t rows, std::chrono::nanoseconds took) const;
  void RecordTableUnavailable(int64_t rows) const;

 private:
  ServerMetrics* metrics_ = nullptr;
  std::string endpoint_;
  mutable std::array<std::atomic<ServerMetrics::LayerSeries*>, kLayerCount> series_{};
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_PLANS_LAYER_RECORDER_H_
