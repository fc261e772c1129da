#include "serving/feature_tables.h"

#include <string>
#include <utility>

namespace strata::serving {

FeatureTables::FeatureTables(std::shared_ptr<TableRegistry> registry,
                             std::shared_ptr<store::TableStore> store)
    : registry_(std::move(registry)), store_(std::move(store)) {}

std::shared_ptr<const store::PredictionTable> FeatureTables::Current(std::string_view table) const {
  return registry_->Current(table);
}

absl::Status FeatureTables::Follow(std::string_view table) const {
  absl::Status followed =
      registry_->Follow(std::string(table), TableFollowOptions{.store = store_});
  if (!followed.ok()) return followed;
  if (registry_->Current(table)) return absl::OkStatus();
  return registry_->Refresh(table);
}

}  // namespace strata::serving
