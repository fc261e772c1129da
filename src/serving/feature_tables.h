// FeatureTables is the server's FeatureTableSource (features/feature_lookup.h):
// the feature tables a served model names are servables like any other
// table, followed by the server's TableRegistry (serving/lifecycle): the
// same background open, atomic publish, drain, labels, pinned default,
// rollback and control API (`/v2/repository/tables/...`, `strata table`).
// Follow() follows a table from the feature store and waits for its first
// version to open (at model load, on the model lifecycle's thread);
// Current() is the registry's default version and never blocks.
// Thread-safe.
#ifndef STRATA_SERVING_FEATURE_TABLES_H_
#define STRATA_SERVING_FEATURE_TABLES_H_

#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "features/feature_lookup.h"
#include "serving/lifecycle/table_registry.h"
#include "store/table_store.h"

namespace strata::serving {

class FeatureTables : public features::FeatureTableSource {
 public:
  // `store`: where feature tables live; null: the registry's default store.
  FeatureTables(std::shared_ptr<TableRegistry> registry, std::shared_ptr<store::TableStore> store);

  std::shared_ptr<const store::PredictionTable> Current(std::string_view table) const override;

  // Follows `table` and opens its published version now; the store's or
  // the version's error when it cannot (the table stays followed and opens
  // when it can).
  absl::Status Follow(std::string_view table) const;

 private:
  const std::shared_ptr<TableRegistry> registry_;
  const std::shared_ptr<store::TableStore> store_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_FEATURE_TABLES_H_
