#include "serving/experiment/prediction_log.h"

namespace strata::serving {

RecordOutcome PredictionLog::Record(std::string_view id, PredictionRecord record,
                                    Clock::time_point now) {
  if (id.size() > options_.max_id_bytes) return RecordOutcome::kIdTooLong;
  if (record.scores.width > options_.max_width) return RecordOutcome::kTooWide;
  if (record.scores.rows > options_.max_rows) {
    record.scores.rows = options_.max_rows;
    record.scores.values.resize(options_.max_rows * record.scores.width);
  }
  const uint64_t sequence = next_sequence_++;
  by_id_.insert_or_assign(std::string(id),
                          Entry{.record = std::move(record), .at = now, .sequence = sequence});
  order_.push_back(Order{.id = std::string(id), .sequence = sequence});
  Evict(now);
  return RecordOutcome::kKept;
}

const PredictionRecord* PredictionLog::Find(std::string_view id, Clock::time_point now) {
  Evict(now);
  auto it = by_id_.find(absl::string_view(id.data(), id.size()));
  return it == by_id_.end() ? nullptr : &it->second.record;
}

void PredictionLog::Evict(Clock::time_point now) {
  const Clock::time_point oldest = now - options_.max_age;
  while (!order_.empty()) {
    auto it = by_id_.find(order_.front().id);
    const bool stale = it == by_id_.end() || it->second.sequence != order_.front().sequence;
    if (!stale && by_id_.size() <= options_.retention && it->second.at >= oldest &&
        order_.size() <= 2 * options_.retention) {
      return;
    }
    if (!stale) {
      by_id_.erase(it);
      ++evicted_;
    }
    order_.pop_front();
  }
}

}  // namespace strata::serving
