// FeatureLog is the served-feature log (`strata serve --feature-log FILE`):
// JSON Lines, one sampled row per line, that `strata features skew`
// recomputes offline from the same tables and definition:
//
//   {"ts":1733200000,"request_id":"r1","model":"purchase","version":1,
//    "entities":{"user":"<keyed hash>",...},"request":{"query":"red shoes",...},
//    "tables":{"user_stats":3,...},"vector":[0.25,1.5,...]}
//
// Entity keys are written as KeyedHasher::Hash of their canonical key bytes
// (features/keyed_hash.h), never as raw values; each float of `vector` in
// the shortest decimal that reads back as the same float32. Lines go
// through a bounded queue to a background thread that writes them; when the
// queue is full a line is dropped and counted
// (strata_feature_log_lines_total{result="dropped"}), so a slow disk never
// slows a request and memory stays bounded. Thread-safe.
#ifndef STRATA_SERVING_FEATURE_LOG_H_
#define STRATA_SERVING_FEATURE_LOG_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/mutex.h"
#include "features/feature_value.h"
#include "features/keyed_hash.h"
#include "serving/feature_metrics.h"

namespace strata::serving {

struct FeatureLogOptions {
  std::filesystem::path file;       // appended to
  std::filesystem::path secret;     // the keyed hash's secret (required)
  double sample_rate = 0.01;        // share of served rows logged, 0..1
  size_t max_queued_lines = 10000;  // beyond: dropped
};

// One logged row.
struct ServedFeatureRow {
  int64_t ts = 0;  // unix seconds
  std::string_view request_id;
  std::string_view model;
  int64_t version = 0;
  std::vector<std::pair<std::string, std::string>> entities;  // name, keyed hash
  std::vector<std::pair<std::string, features::FeatureValue>> request;
  std::vector<std::pair<std::string, int64_t>> tables;  // name, version read
  std::span<const float> vector;
};

// The row as one JSON line (with its newline).
std::string FeatureLogLine(const ServedFeatureRow& row);

class FeatureLog {
 public:
  // Opens `options.file` for appending and reads the secret. Error when
  // either fails or the rate is outside [0, 1].
  static absl::StatusOr<std::unique_ptr<FeatureLog>> Open(FeatureLogOptions options);
  // Where written and dropped lines are counted from now on; must outlive the log.
  void AttachMetrics(FeatureMetrics* metrics) { metrics_.store(metrics); }
  ~FeatureLog();  // writes what is queued, then stops

  // Whether to log the next row (a draw at the sample rate).
  bool Sample() const;
  const features::KeyedHasher& hasher() const { return hasher_; }
  // Queues a line, or drops it when the queue is full.
  void Write(std::string line);

 private:
  FeatureLog(FeatureLogOptions options, features::KeyedHasher hasher, std::FILE* file);
  void Count(bool written);
  void Loop();

  const FeatureLogOptions options_;
  const features::KeyedHasher hasher_;
  std::FILE* const file_;
  std::atomic<FeatureMetrics*> metrics_{nullptr};
  core::Mutex mutex_;
  core::CondVar queued_;
  std::deque<std::string> lines_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_FEATURE_LOG_H_
