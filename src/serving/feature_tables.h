// FeatureTables is the server's FeatureTableSource (features/feature_lookup.h):
// it follows the published version of every feature table a served model
// names, in one table store (RocksDB `--tables`, or Redis `--redis` behind
// its guard). Follow() opens a table's published version (at model load,
// on the lifecycle thread); a thread of its own then checks every
// followed table each poll interval and swaps a newly published version in
// through an atomic pointer, so lookups in flight keep the version they
// started with and Current() never blocks. A version that fails to open is
// logged and the one open keeps serving. Thread-safe.
#ifndef STRATA_SERVING_FEATURE_TABLES_H_
#define STRATA_SERVING_FEATURE_TABLES_H_

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "core/mutex.h"
#include "features/feature_lookup.h"
#include "store/table_store.h"

namespace strata::serving {

class FeatureTables : public features::FeatureTableSource {
 public:
  FeatureTables(std::shared_ptr<store::TableStore> store, std::chrono::milliseconds poll_interval);
  ~FeatureTables() override;
  FeatureTables(const FeatureTables&) = delete;
  FeatureTables& operator=(const FeatureTables&) = delete;

  std::shared_ptr<const store::PredictionTable> Current(std::string_view table) const override;

  // Follows `table` from now on and opens its published version now unless
  // it is open already; the store's error when it cannot (the table then
  // stays followed and opens when it can).
  absl::Status Follow(std::string_view table) const;

 private:
  using TableMap =
      std::map<std::string, std::shared_ptr<const store::PredictionTable>, std::less<>>;

  // Opens `table`'s published version when it is not the one open.
  absl::Status Refresh(const std::string& table) const;
  void Loop();

  const std::shared_ptr<store::TableStore> store_;
  const std::chrono::milliseconds poll_interval_;
  mutable std::atomic<std::shared_ptr<const TableMap>> open_;
  mutable core::Mutex mutex_;  // serialises changes of open_ and followed_
  mutable std::set<std::string, std::less<>> followed_ ABSL_GUARDED_BY(mutex_);
  core::CondVar stop_signal_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_FEATURE_TABLES_H_
