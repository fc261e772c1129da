// Test helper: HangingTableStore is a MemoryTableStore that can be made to
// hang like a stopped Redis: while hung, every call (ListTables,
// CurrentVersion, and the lookups of the tables it opened) blocks until
// Release(), then fails UNAVAILABLE, as a call that ran into its timeout does;
// or to fail at once, like a refused connection. It counts the calls that
// reached it. Test-only code; thread-safe.
#ifndef STRATA_SERVING_TESTING_HANGING_TABLE_STORE_H_
#define STRATA_SERVING_TESTING_HANGING_TABLE_STORE_H_

#include <condition_variable>
#include <memory>
#include <mutex>

#include "store/memory_table_store.h"

namespace strata::serving::testing {

class HangingTableStore : public store::MemoryTableStore {
 public:
  enum class Mode { kAnswering, kHanging, kRefusing };

  void Set(Mode mode) {
    std::lock_guard lock(switch_->mutex);
    switch_->mode = mode;
    switch_->released = false;
  }
  // Lets the calls hanging now (and later ones, until the next Set) fail.
  void Release() {
    std::lock_guard lock(switch_->mutex);
    switch_->released = true;
    switch_->wake.notify_all();
  }
  int calls() const {
    std::lock_guard lock(switch_->mutex);
    return switch_->calls;
  }
  // Blocks until `n` calls are hanging.
  void AwaitHanging(int n) const {
    std::unique_lock lock(switch_->mutex);
    switch_->wake.wait(lock, [&] { return switch_->hanging >= n; });
  }

  absl::StatusOr<std::vector<std::string>> ListTables() const override {
    if (absl::Status s = switch_->Enter(); !s.ok()) return s;
    return MemoryTableStore::ListTables();
  }

  absl::StatusOr<int64_t> CurrentVersion(std::string_view table) const override {
    if (absl::Status s = switch_->Enter(); !s.ok()) return s;
    return MemoryTableStore::CurrentVersion(table);
  }

  absl::StatusOr<std::shared_ptr<store::PredictionTable>> Open(std::string_view table,
                                                               int64_t version) const override {
    absl::StatusOr<std::shared_ptr<store::PredictionTable>> opened =
        MemoryTableStore::Open(table, version);
    if (!opened.ok()) return opened;
    return std::shared_ptr<store::PredictionTable>(
        std::make_shared<Table>(*std::move(opened), switch_));
  }

 private:
  struct Switch {
    // What one call meets: OK when answering, else UNAVAILABLE (at once,
    // or once released).
    absl::Status Enter() {
      std::unique_lock lock(mutex);
      ++calls;
      if (mode == Mode::kAnswering) return absl::OkStatus();
      if (mode == Mode::kHanging) {
        ++hanging;
        wake.notify_all();
        wake.wait(lock, [&] { return released; });
        --hanging;
        return absl::UnavailableError("Redis: Resource temporarily unavailable");
      }
      return absl::UnavailableError("Redis: Connection refused");
    }

    std::mutex mutex;
    std::condition_variable wake;
    Mode mode = Mode::kAnswering;  // guarded by mutex
    bool released = false;         // guarded by mutex
    int calls = 0;                 // guarded by mutex
    int hanging = 0;               // guarded by mutex
  };

  class Table : public store::PredictionTable {
   public:
    Table(std::shared_ptr<store::PredictionTable> table, std::shared_ptr<Switch> s)
        : table_(std::move(table)), switch_(std::move(s)) {}
    const store::TableManifest& manifest() const override { return table_->manifest(); }
    absl::StatusOr<store::LookupResult> MultiGet(std::span<const std::string> keys) const override {
      if (absl::Status s = switch_->Enter(); !s.ok()) return s;
      return table_->MultiGet(keys);
    }
    absl::Status Scan(const Visitor& visit) const override { return table_->Scan(visit); }

   private:
    std::shared_ptr<store::PredictionTable> table_;
    std::shared_ptr<Switch> switch_;
  };

  std::shared_ptr<Switch> switch_ = std::make_shared<Switch>();
};

}  // namespace strata::serving::testing

#endif  // STRATA_SERVING_TESTING_HANGING_TABLE_STORE_H_
