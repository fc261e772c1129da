// FeaturePipeline turns raw rows (feature_value.h) into a model's input
// tensors under one FeatureDefinition. It is the one implementation of every
// transformation: `strata serve` (serving/plans/feature_stage.h),
// `strata batch`, `strata features build` and the Python binding
// (src/features/python) all call it, so training, batch and serving compute
// bit-identical vectors. Arithmetic is in double, rounded to float once at
// the end. Immutable once built; thread-safe.
#ifndef STRATA_FEATURES_FEATURE_PIPELINE_H_
#define STRATA_FEATURES_FEATURE_PIPELINE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"
#include "features/feature_definition.h"
#include "features/feature_value.h"

namespace strata::features {

namespace internal {
struct PipelinePlan;  // feature_plan.h: the per-feature plans TransformRow runs
}  // namespace internal

// Where one raw input comes from.
struct Slot {
  enum class Source { kRequest, kKey, kTable };
  Source source = Source::kRequest;
  std::string owner;   // the request ("request"), an entity (kKey) or a table's name
  std::string column;  // the field, key column or table column
  ValueType type = ValueType::kFloat64;
  std::string Name() const { return owner + "." + column; }  // "user_stats.price"
};

// Per feature, how many rows had a missing input imputed; atomic so many
// requests can count at once. Indexed like FeatureDefinition::features.
class FeatureCounters {
 public:
  explicit FeatureCounters(size_t features) : imputed_(features) {}
  void AddImputed(size_t feature) { imputed_[feature].fetch_add(1, std::memory_order_relaxed); }
  int64_t imputed(size_t feature) const {
    return imputed_[feature].load(std::memory_order_relaxed);
  }
  size_t size() const { return imputed_.size(); }

 private:
  std::vector<std::atomic<int64_t>> imputed_;
};

// The raw inputs a row needs under `definition`, in RawRows slot order:
// every request field, then every entity's key columns, then every table's
// columns, each group in definition order. Defined for unfitted definitions
// too (fitting lays its rows out this way).
std::vector<Slot> SlotsOf(const FeatureDefinition& definition);

class FeaturePipeline {
 public:
  // Error when the definition is not fitted (see ParseFeatureDefinition).
  static absl::StatusOr<std::shared_ptr<const FeaturePipeline>> Create(
      FeatureDefinition definition);

  const FeatureDefinition& definition() const { return definition_; }

  // SlotsOf(definition()).
  const std::vector<Slot>& slots() const { return slots_; }
  // The slot of "owner.column", or -1.
  int SlotOf(std::string_view owner, std::string_view column) const;

  // Floats per row of each output (FeatureDefinition::outputs order), of
  // each feature (FeatureDefinition::features order), and in all.
  const std::vector<size_t>& output_widths() const { return output_widths_; }
  size_t feature_width(size_t feature) const { return feature_widths_[feature]; }
  size_t width() const { return width_; }
  // The name of each float of a row, "<feature>" or "<feature>[i]".
  std::vector<std::string> ColumnNames() const;

  // Computes one row: `out` holds width() floats, the outputs concatenated
  // in order. INVALID_ARGUMENT naming the feature and its source when a
  // required input is missing, or the field when a required request field
  // is. time_since measures from its first source (usually the request's
  // time field, so training rows measure from their label's time), never
  // from a clock. Allocates nothing on the numeric path.
  absl::Status TransformRow(std::span<const FeatureValue> raw, std::span<float> out,
                            FeatureCounters* counters = nullptr) const;

  // Every row into the model's input tensors: one FP32 [rows, width] per
  // output, named as the definition says. Stops at the first row that fails,
  // naming its index.
  absl::StatusOr<std::vector<core::Tensor>> Assemble(const RawRows& rows,
                                                     FeatureCounters* counters = nullptr) const;

 private:
  FeaturePipeline() = default;
  void BuildPlan();
  // The size and required-input checks of TransformRow.
  absl::Status CheckRow(std::span<const FeatureValue> raw, std::span<float> out) const;
  // One feature into `out` (its width); `imputed` set when an input was
  // missing (or, for ratio, the quotient undefined).
  absl::Status ComputeFeature(size_t feature, std::span<const FeatureValue> raw,
                              std::span<float> out, bool& imputed) const;
  absl::Status ComputeNumeric(size_t feature, std::span<const FeatureValue> raw,
                              std::span<float> out, bool& imputed) const;
  absl::Status ComputePair(size_t feature, std::span<const FeatureValue> raw, std::span<float> out,
                           bool& imputed) const;
  absl::Status ComputeCategorical(size_t feature, std::span<const FeatureValue> raw,
                                  std::span<float> out, bool& imputed) const;
  absl::Status ComputeCross(size_t feature, std::span<const FeatureValue> raw, std::span<float> out,
                            bool& imputed) const;
  // Reads input `index` of `feature` as a number; `missing` when it is
  // missing, NaN, or (for `finite_only`) infinite. Errors when a required
  // input is missing or a number is a string.
  absl::Status ReadInput(size_t feature, std::span<const FeatureValue> raw, size_t index,
                         bool finite_only, double& x, bool& missing) const;
  absl::Status MissingRequired(size_t feature, int slot) const;
  absl::Status NotANumber(size_t feature, int slot) const;

  FeatureDefinition definition_;
  std::vector<Slot> slots_;
  std::vector<size_t> output_widths_;
  std::vector<size_t> feature_widths_;
  size_t width_ = 0;
  // Per feature, the slots of its sources; per output, its features.
  std::vector<std::vector<int>> feature_slots_;
  std::vector<std::vector<int>> output_features_;
  // Precomputed at Create: what TransformRow runs per feature.
  std::shared_ptr<const internal::PipelinePlan> plan_;
};

}  // namespace strata::features

#endif  // STRATA_FEATURES_FEATURE_PIPELINE_H_
