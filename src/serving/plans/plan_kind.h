// The typed names of a plan and of a layer (docs/architecture.md's
// glossary). Text appears only where a config file is read or a response,
// metric or description is written. Pure; thread-safe.
#ifndef STRATA_SERVING_PLANS_PLAN_KIND_H_
#define STRATA_SERVING_PLANS_PLAN_KIND_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace strata::serving {

// How an endpoint makes its answers.
enum class PlanKind : uint8_t { kStatic, kHybrid, kDynamic, kSplit };

// The source of one row's answer; kNone while no stage has answered it.
enum class Layer : uint8_t { kNone, kTable, kCache, kModel, kDefault };
inline constexpr size_t kLayerCount = 5;

constexpr std::string_view PlanName(PlanKind plan) {
  switch (plan) {
    case PlanKind::kStatic:
      return "static";
    case PlanKind::kHybrid:
      return "hybrid";
    case PlanKind::kDynamic:
      return "dynamic";
    case PlanKind::kSplit:
      return "split";
  }
  return "static";
}

constexpr std::optional<PlanKind> ParsePlanKind(std::string_view name) {
  if (name == "static") return PlanKind::kStatic;
  if (name == "hybrid") return PlanKind::kHybrid;
  if (name == "dynamic") return PlanKind::kDynamic;
  if (name == "split") return PlanKind::kSplit;
  return std::nullopt;
}

constexpr std::string_view LayerName(Layer layer) {
  switch (layer) {
    case Layer::kNone:
      return "none";
    case Layer::kTable:
      return "table";
    case Layer::kCache:
      return "cache";
    case Layer::kModel:
      return "model";
    case Layer::kDefault:
      return "default";
  }
  return "none";
}

}  // namespace strata::serving

#endif  // STRATA_SERVING_PLANS_PLAN_KIND_H_
