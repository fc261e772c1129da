// MemoryTableStore keeps prediction tables in memory: for tests, and for a
// small table embedded in an application. Same contract as every
// TableStore: versions appear on Commit(), the pointer switches atomically.
// Thread-safe.
#ifndef STRATA_STORE_MEMORY_TABLE_STORE_H_
#define STRATA_STORE_MEMORY_TABLE_STORE_H_

#include <map>
#include <memory>
#include <string>

#include "core/mutex.h"
#include "store/table_store.h"

namespace strata::store {

class MemoryTableStore : public TableStore {
 public:
  std::string_view kind() const override { return "memory"; }
  std::string location() const override { return "memory"; }
  absl::StatusOr<std::vector<std::string>> ListTables() const override;
  absl::StatusOr<std::vector<int64_t>> ListVersions(std::string_view table) const override;
  absl::StatusOr<TableManifest> ReadManifest(std::string_view table,
                                             int64_t version) const override;
  absl::StatusOr<int64_t> CurrentVersion(std::string_view table) const override;
  absl::Status SetCurrentVersion(std::string_view table, int64_t version) override;
  absl::StatusOr<std::unique_ptr<TableBuilder>> NewBuilder(
      std::string_view table, const std::filesystem::path& scratch) override;
  absl::StatusOr<std::shared_ptr<PredictionTable>> Open(std::string_view table,
                                                        int64_t version) const override;
  absl::StatusOr<int> RemoveOldVersions(std::string_view table, int keep) override;

 private:
  struct Version {
    TableManifest manifest;
    std::shared_ptr<const std::map<std::string, std::string, std::less<>>> records;
  };
  struct Table {
    std::map<int64_t, Version> versions;
    int64_t current = 0;
  };
  friend class MemoryTableBuilder;

  mutable core::Mutex mutex_;
  std::map<std::string, Table, std::less<>> tables_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace strata::store

#endif  // STRATA_STORE_MEMORY_TABLE_STORE_H_
