// PredictionLog keeps an endpoint's recent predictions by request id, so
// that feedback sent later can be joined to the prediction it answers.
// Bounded whatever clients send: at most `retention` predictions, none older
// than `max_age` (the oldest go first), ids of at most `max_id_bytes`
// (longer ones are not kept) and at most `max_rows` rows of `max_width`
// scores each (further rows are not kept). A pure decision object handed
// `now`, like BatchQueue; not thread-safe (the Experiments hold its lock).
#ifndef STRATA_SERVING_EXPERIMENT_PREDICTION_LOG_H_
#define STRATA_SERVING_EXPERIMENT_PREDICTION_LOG_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "serving/experiment/scores.h"

namespace strata::serving {

struct PredictionLogOptions {
  size_t retention = 100000;
  std::chrono::seconds max_age{3600};
  size_t max_id_bytes = 128;
  size_t max_rows = 64;
  size_t max_width = 16;
};

// One prediction: the arm (empty outside a split) and version that answered
// and its scores per row.
struct PredictionRecord {
  std::string arm = {};
  std::string version = {};
  ScoreMatrix scores = {};
};

// Why a prediction was not kept.
enum class RecordOutcome { kKept, kIdTooLong, kTooWide };

class PredictionLog {
 public:
  using Clock = std::chrono::steady_clock;

  explicit PredictionLog(PredictionLogOptions options) : options_(options) {}

  // Keeps `record` under `id` (replacing an earlier one of the same id),
  // evicting the oldest beyond the bounds. Rows past max_rows are cut off.
  RecordOutcome Record(std::string_view id, PredictionRecord record, Clock::time_point now);
  // The prediction of `id` unless evicted or older than max_age; null else.
  // The pointer is valid until the next call.
  const PredictionRecord* Find(std::string_view id, Clock::time_point now);

  size_t size() const { return by_id_.size(); }
  uint64_t evicted() const { return evicted_; }

 private:
  struct Entry {
    PredictionRecord record;
    Clock::time_point at;
    uint64_t sequence = 0;
  };
  struct Order {
    std::string id;
    uint64_t sequence = 0;
  };
  void Evict(Clock::time_point now);

  const PredictionLogOptions options_;
  absl::flat_hash_map<std::string, Entry> by_id_;
  // Oldest first; an entry replaced since is stale. At most 2 * retention.
  std::deque<Order> order_;
  uint64_t next_sequence_ = 0;
  uint64_t evicted_ = 0;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXPERIMENT_PREDICTION_LOG_H_
