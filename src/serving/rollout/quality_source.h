// QualitySource is where a rollout's quality gate reads each arm's
// prediction quality (feedback joined to predictions, or agreement with a
// shadow): per arm, the count, mean and variance of a loss over a window.
// The default, NoQualitySource, has no data, so a quality gate asked for
// without a source holds its step (docs/serving.md: Rollouts).
// Implementations are thread-safe.
#ifndef STRATA_SERVING_ROLLOUT_QUALITY_SOURCE_H_
#define STRATA_SERVING_ROLLOUT_QUALITY_SOURCE_H_

#include <chrono>
#include <optional>
#include <string>

#include "serving/rollout/window_stats.h"

namespace strata::serving {

// One arm of a split endpoint at one model version, since a wall-clock time.
struct QualityQuery {
  std::string endpoint;
  std::string arm;
  std::string model;
  std::string version;
  std::chrono::system_clock::time_point since;
};

class QualitySource {
 public:
  virtual ~QualitySource() = default;
  // The arm's quality over the window; nullopt: no data.
  virtual std::optional<QualityStats> Quality(const QualityQuery& query) const = 0;
};

class NoQualitySource : public QualitySource {
 public:
  std::optional<QualityStats> Quality(const QualityQuery&) const override { return std::nullopt; }
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_ROLLOUT_QUALITY_SOURCE_H_
