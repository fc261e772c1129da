#include "features/feature_pipeline.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "features/feature_plan.h"
#include "features/feature_transforms.h"
#include "features/slot_resolution.h"
#include "fmt/format.h"

namespace strata::features {
namespace {

using internal::FeaturePlan;
using internal::PipelinePlan;

size_t WidthOf(const Feature& feature) {
  switch (feature.transform) {
    case TransformKind::kOneHot:
      return feature.params.vocabulary.size() + 1;
    case TransformKind::kHashBuckets:
      return static_cast<size_t>(feature.params.buckets);
    default:
      return 1;
  }
}

void SetParameters(const Feature& feature, FeaturePlan& plan) {
  const TransformParams& p = feature.params;
  switch (feature.transform) {
    case TransformKind::kStandardize:
      plan.a = *p.mean;
      plan.b = *p.std;
      plan.impute = feature.impute.value_or(*p.mean);
      break;
    case TransformKind::kMinMax:
      plan.a = *p.min;
      plan.b = *p.max - *p.min;
      break;
    case TransformKind::kClip:
      plan.a = p.low.value_or(-std::numeric_limits<double>::infinity());
      plan.b = p.high.value_or(std::numeric_limits<double>::infinity());
      break;
    case TransformKind::kTimeSince:
      plan.b = p.unit_seconds;
      break;
    default:
      break;
  }
  plan.boundaries = p.boundaries;
  plan.vocabulary_size = static_cast<int32_t>(p.vocabulary.size());
  for (size_t i = 0; i < p.vocabulary.size(); ++i) {
    plan.vocabulary.emplace(p.vocabulary[i], static_cast<int32_t>(i));
  }
  plan.buckets = p.buckets;
}

bool IsOneInputNumeric(TransformKind kind) {
  switch (kind) {
    case TransformKind::kIdentity:
    case TransformKind::kStandardize:
    case TransformKind::kMinMax:
    case TransformKind::kClip:
    case TransformKind::kLog1p:
    case TransformKind::kBucketize:
    case TransformKind::kHourOfDay:
      return true;
    default:
      return false;
  }
}

FeaturePlan PlanOf(const Feature& feature, std::vector<int> slots) {
  FeaturePlan plan;
  plan.kind = feature.transform;
  plan.slots = std::move(slots);
  plan.required = feature.missing == MissingPolicy::kRequired;
  plan.impute = feature.impute.value_or(0.0);
  plan.width = WidthOf(feature);
  plan.slot = plan.slots[0];
  plan.one_numeric_input = plan.slots.size() == 1 && IsOneInputNumeric(feature.transform);
  SetParameters(feature, plan);
  return plan;
}

bool IsMissingInput(const FeatureValue& value) {
  const auto* d = std::get_if<double>(&value);
  return IsMissing(value) || (d != nullptr && std::isnan(*d));
}

}  // namespace

std::vector<Slot> SlotsOf(const FeatureDefinition& definition) {
  std::vector<Slot> slots;
  for (const RequestField& field : definition.request) {
    slots.push_back({Slot::Source::kRequest, std::string(kRequestOwner), field.name, field.type});
  }
  for (const Entity& entity : definition.entities) {
    for (const Column& key : entity.keys) {
      slots.push_back({Slot::Source::kKey, entity.name, key.name, key.type});
    }
  }
  for (const FeatureTable& table : definition.tables) {
    for (const Column& column : table.columns) {
      slots.push_back({Slot::Source::kTable, table.name, column.name, column.type});
    }
  }
  return slots;
}

absl::StatusOr<std::shared_ptr<const FeaturePipeline>> FeaturePipeline::Create(
    FeatureDefinition definition) {
  if (auto s = ValidateFeatureDefinition(definition); !s.ok()) return s;
  std::shared_ptr<FeaturePipeline> pipeline(new FeaturePipeline());
  pipeline->definition_ = std::move(definition);
  pipeline->slots_ = SlotsOf(pipeline->definition_);
  pipeline->BuildPlan();
  return std::shared_ptr<const FeaturePipeline>(std::move(pipeline));
}

void FeaturePipeline::BuildPlan() {
  auto plan = std::make_shared<PipelinePlan>();
  const FeatureDefinition& def = definition_;
  for (const Feature& feature : def.features) {
    std::vector<int> slots;
    for (const std::string& source : feature.sources) {
      const Slot slot = *ResolveSource(def, source);  // validated
      slots.push_back(SlotOf(slot.owner, slot.column));
    }
    feature_widths_.push_back(WidthOf(feature));
    feature_slots_.push_back(slots);
    plan->features.push_back(PlanOf(feature, std::move(slots)));
  }
  std::vector<int64_t> first_placement(def.features.size(), -1);
  for (const Output& output : def.outputs) {
    plan->output_offsets.push_back(width_);
    std::vector<int> features;
    size_t output_width = 0;
    for (const std::string& name : output.features) {
      const size_t f = static_cast<size_t>(def.FindFeature(name) - def.features.data());
      features.push_back(static_cast<int>(f));
      const int64_t index = static_cast<int64_t>(plan->placements.size());
      plan->placements.push_back({f, width_ + output_width, first_placement[f]});
      if (first_placement[f] < 0) first_placement[f] = index;
      output_width += feature_widths_[f];
    }
    output_features_.push_back(std::move(features));
    output_widths_.push_back(output_width);
    width_ += output_width;
  }
  for (size_t f = 0; f < def.features.size(); ++f) {
    if (first_placement[f] < 0 && plan->features[f].required) {
      plan->unplaced_required.push_back(f);
    }
  }
  for (size_t i = 0; i < def.request.size(); ++i) {
    if (def.request[i].required) plan->required_request_slots.push_back(static_cast<int>(i));
  }
  plan_ = std::move(plan);
}

int FeaturePipeline::SlotOf(std::string_view owner, std::string_view column) const {
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].owner == owner && slots_[i].column == column) return static_cast<int>(i);
  }
  return -1;
}

std::vector<std::string> FeaturePipeline::ColumnNames() const {
  std::vector<std::string> names;
  names.reserve(width_);
  for (const internal::Placement& placement : plan_->placements) {
    const std::string& name = definition_.features[placement.feature].name;
    const size_t width = feature_widths_[placement.feature];
    for (size_t i = 0; i < width; ++i) {
      names.push_back(width == 1 ? name : fmt::format("{}[{}]", name, i));
    }
  }
  return names;
}

absl::Status FeaturePipeline::MissingRequired(size_t feature, int slot) const {
  return absl::InvalidArgumentError(fmt::format("feature '{}': required input '{}' is missing",
                                                definition_.features[feature].name,
                                                slots_[static_cast<size_t>(slot)].Name()));
}

absl::Status FeaturePipeline::NotANumber(size_t feature, int slot) const {
  return absl::InvalidArgumentError(fmt::format("feature '{}': input '{}' is not a number",
                                                definition_.features[feature].name,
                                                slots_[static_cast<size_t>(slot)].Name()));
}

absl::Status FeaturePipeline::CheckRow(std::span<const FeatureValue> raw,
                                       std::span<float> out) const {
  if (raw.size() != slots_.size() || out.size() != width_) {
    return absl::InvalidArgumentError(
        fmt::format("TransformRow: {} raw values for {} slots, {} floats for width {}", raw.size(),
                    slots_.size(), out.size(), width_));
  }
  for (int slot : plan_->required_request_slots) {
    if (IsMissingInput(raw[static_cast<size_t>(slot)])) {
      return absl::InvalidArgumentError(
          fmt::format("request field '{}' is required", slots_[static_cast<size_t>(slot)].column));
    }
  }
  for (size_t feature : plan_->unplaced_required) {
    for (int slot : plan_->features[feature].slots) {
      if (IsMissingInput(raw[static_cast<size_t>(slot)])) return MissingRequired(feature, slot);
    }
  }
  return absl::OkStatus();
}

absl::Status FeaturePipeline::TransformRow(std::span<const FeatureValue> raw, std::span<float> out,
                                           FeatureCounters* counters) const {
  if (auto s = CheckRow(raw, out); !s.ok()) return s;
  for (const internal::Placement& placement : plan_->placements) {
    const FeaturePlan& plan = plan_->features[placement.feature];
    float* target = out.data() + placement.offset;
    // The hot path: a one-input numeric transformation of a finite number.
    if (plan.one_numeric_input && internal::TryNumeric(plan, raw[plan.slot], *target)) continue;
    if (placement.copy_from >= 0) {
      const size_t from = plan_->placements[static_cast<size_t>(placement.copy_from)].offset;
      std::memcpy(target, out.data() + from, plan.width * sizeof(float));
      continue;
    }
    bool imputed = false;
    if (auto s = ComputeFeature(placement.feature, raw, {target, plan.width}, imputed); !s.ok()) {
      return s;
    }
    if (imputed && counters != nullptr) counters->AddImputed(placement.feature);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<core::Tensor>> FeaturePipeline::Assemble(
    const RawRows& rows, FeatureCounters* counters) const {
  if (rows.slots() != slots_.size()) {
    return absl::InvalidArgumentError(
        fmt::format("rows have {} slots, the definition {}", rows.slots(), slots_.size()));
  }
  const size_t count = rows.rows();
  std::vector<core::Tensor> tensors;
  for (size_t o = 0; o < definition_.outputs.size(); ++o) {
    tensors.push_back(core::Tensor::Zeros(
        definition_.outputs[o].tensor, core::DataType::kFp32,
        {static_cast<int64_t>(count), static_cast<int64_t>(output_widths_[o])}));
  }
  std::vector<float> row(width_);
  for (size_t r = 0; r < count; ++r) {
    if (auto s = TransformRow(rows.Row(r), row, counters); !s.ok()) {
      return absl::Status(s.code(), fmt::format("row {}: {}", r, std::string(s.message())));
    }
    for (size_t o = 0; o < tensors.size(); ++o) {
      const size_t width = output_widths_[o];
      std::memcpy(tensors[o].MutableAs<float>().data() + r * width,
                  row.data() + plan_->output_offsets[o], width * sizeof(float));
    }
  }
  return tensors;
}

}  // namespace strata::features
