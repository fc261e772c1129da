#include "serving/batch_queue.h"

#include <algorithm>

#include "fmt/format.h"

namespace strata::serving {

absl::Status BatchQueue::Push(QueuedRequest& request) {
  if (queue_.size() >= options_.max_queue_size) {
    return absl::ResourceExhaustedError(
        fmt::format("the queue is full ({} requests waiting); retry later", queue_.size()));
  }
  queue_.push_back(std::move(request));
  return absl::OkStatus();
}

void BatchQueue::SetLimits(int64_t max_batch_size, Clock::duration max_queue_delay) {
  options_.max_batch_size = std::max<int64_t>(1, max_batch_size);
  options_.max_queue_delay = max_queue_delay;
}

std::vector<QueuedRequest> BatchQueue::TakeAll() {
  std::vector<QueuedRequest> all(std::make_move_iterator(queue_.begin()),
                                 std::make_move_iterator(queue_.end()));
  queue_.clear();
  return all;
}

BatchQueue::Decision BatchQueue::Next(Clock::time_point now) {
  Decision decision;
  std::optional<Clock::time_point> next_deadline;
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->deadline && *it->deadline <= now) {
      decision.expired.push_back(std::move(*it));
      it = queue_.erase(it);
    } else {
      if (it->deadline && (!next_deadline || *it->deadline < *next_deadline)) {
        next_deadline = it->deadline;
      }
      ++it;
    }
  }
  if (queue_.empty()) return decision;

  // Candidates: the oldest request and the later ones it may merge with.
  std::vector<size_t> members = {0};
  int64_t rows = queue_[0].rows;
  bool full = !options_.batching || rows >= options_.max_batch_size;
  for (size_t i = 1; options_.batching && !full && i < queue_.size(); ++i) {
    if (queue_[i].batch_key != queue_[0].batch_key) continue;
    if (rows + queue_[i].rows > options_.max_batch_size) {
      full = true;  // the next request of this shape does not fit
      break;
    }
    members.push_back(i);
    rows += queue_[i].rows;
    full = rows == options_.max_batch_size;
  }

  size_t take = 0;  // how many of `members` run now
  if (full) {
    take = members.size();
  } else if (!options_.preferred_batch_sizes.empty()) {
    int64_t prefix_rows = 0;
    for (size_t m = 0; m < members.size(); ++m) {
      prefix_rows += queue_[members[m]].rows;
      if (std::binary_search(options_.preferred_batch_sizes.begin(),
                             options_.preferred_batch_sizes.end(), prefix_rows)) {
        take = m + 1;  // the largest preferred prefix wins
      }
    }
  }
  const Clock::time_point due = queue_[0].enqueued + options_.max_queue_delay;
  if (take == 0 && now >= due) take = members.size();
  if (take == 0) {
    decision.wake_at = next_deadline ? std::min(due, *next_deadline) : due;
    return decision;
  }
  members.resize(take);
  for (size_t index : members) decision.batch.push_back(std::move(queue_[index]));
  for (auto it = members.rbegin(); it != members.rend(); ++it) {
    queue_.erase(queue_.begin() + static_cast<ptrdiff_t>(*it));
  }
  return decision;
}

}  // namespace strata::serving
