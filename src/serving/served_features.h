// ServedFeatures is the feature pipeline of one served model version whose
// directory holds a features.yaml (docs/features.md): loaded and checked
// with the version (a malformed or unfitted definition, outputs that are not
// the model's inputs, or a feature table whose open version does not match
// the definition refuse the version, with the reason in its status), then
// run for key-only requests: the request's key columns and request-time
// fields become raw rows, FeatureLookup fills them from the feature tables
// (one multi-get per table, on the store's own threads for Redis), and
// FeaturePipeline::Assemble makes the model's input tensors.
//
// The lookups run under a deadline: the request's `timeout` or the
// server's feature timeout, whichever is sooner. When it passes, or a table
// cannot be read, each table's `on_store_error` decides: `impute` answers
// with its features imputed (counted, and the result says `degraded`),
// `unavailable` fails the request (UNAVAILABLE, 503). Lookups, imputations
// and durations are counted (serving/feature_metrics.h), and sampled rows go
// to the served-feature log (serving/feature_log.h). Immutable; thread-safe.
#ifndef STRATA_SERVING_SERVED_FEATURES_H_
#define STRATA_SERVING_SERVED_FEATURES_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"
#include "features/feature_lookup.h"
#include "features/feature_pipeline.h"
#include "runtime/model_config.h"
#include "serving/feature_deadline_timer.h"
#include "serving/feature_log.h"
#include "serving/feature_metrics.h"

namespace strata::serving {

// What the server hands every model version with features. Each may be
// null: no tables (every lookup is unavailable), no metrics, no log, no
// timer (no deadline).
struct FeatureServices {
  std::shared_ptr<const features::FeatureTableSource> tables;
  // Called for each feature table at load, before its open version is
  // checked against the definition (the server follows and opens it then).
  std::function<void(std::string_view)> follow_table;
  FeatureMetrics* metrics = nullptr;
  // The longest the lookups of one request may take; 0: only the request's
  // own timeout bounds them.
  std::chrono::milliseconds timeout{100};
  std::shared_ptr<FeatureLog> log;
  std::shared_ptr<FeatureDeadlineTimer> timer;
};

class ServedFeatures : public std::enable_shared_from_this<ServedFeatures> {
 public:
  using Clock = std::chrono::steady_clock;

  // Reads `version_dir`/features.yaml for `model` at `version`; null when
  // the version has none. Errors say what is wrong with it.
  static absl::StatusOr<std::shared_ptr<const ServedFeatures>> Load(
      const std::filesystem::path& version_dir, const runtime::ModelConfig& config,
      const std::string& model, int64_t version, const FeatureServices& services);
  static absl::StatusOr<std::shared_ptr<const ServedFeatures>> Create(
      features::FeatureDefinition definition, const runtime::ModelConfig& config,
      const std::string& model, int64_t version, const FeatureServices& services);

  const features::FeaturePipeline& pipeline() const { return *pipeline_; }
  size_t width() const { return pipeline_->width(); }

  struct Job {
    std::vector<core::Tensor> inputs;  // the request's: key columns, request fields
    std::vector<size_t> rows;          // the rows to compute, in order
    std::optional<Clock::time_point> deadline;
    std::string request_id;
    bool want_vectors = false;  // also return each row's whole vector
  };
  struct Computed {
    std::vector<core::Tensor> inputs;  // the model's, [rows, width] each, in config order
    std::vector<float> vectors;        // rows x width(), when asked
    bool degraded = false;             // table features were imputed: store error, deadline
  };
  using Done = std::function<void(absl::StatusOr<Computed>)>;

  // Computes `job` and calls `done` exactly once, on any thread (possibly
  // before returning): INVALID_ARGUMENT naming the input or feature for bad
  // input, UNAVAILABLE when a table whose policy is `unavailable` could not
  // be read in time.
  void ComputeAsync(Job job, Done done) const;

 private:
  struct Pending;
  ServedFeatures() = default;

  absl::Status CheckOutputs(const runtime::ModelConfig& config) const;
  absl::Status CheckTables() const;
  // The lookup answered (or failed).
  void Finish(Pending& pending, absl::StatusOr<features::LookupReport> report) const;
  // The deadline passed first.
  void Expire(Pending& pending) const;
  // Transforms `raw` into the model's inputs and logs sampled rows.
  absl::StatusOr<Computed> Transform(const Pending& pending, const features::RawRows& raw,
                                     const std::vector<int64_t>& table_versions) const;
  void Log(const Pending& pending, const features::RawRows& raw,
           const std::vector<int64_t>& table_versions, std::span<const float> vectors) const;
  std::vector<float> Vectors(const std::vector<core::Tensor>& inputs, size_t rows) const;

  std::string model_;
  int64_t version_ = 0;
  std::shared_ptr<const features::FeaturePipeline> pipeline_;
  std::unique_ptr<features::FeatureLookup> lookup_;
  FeatureServices services_;
  std::shared_ptr<const FeatureSeries> series_;  // null without metrics
  std::vector<std::string> input_order_;         // the model's inputs, in config order
  bool any_unavailable_policy_ = false;          // a table fails requests it cannot answer
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_SERVED_FEATURES_H_
