#include "serving/feature_tables.h"

#include <vector>

#include "spdlog/spdlog.h"

namespace strata::serving {

FeatureTables::FeatureTables(std::shared_ptr<store::TableStore> store,
                             std::chrono::milliseconds poll_interval)
    : store_(std::move(store)), poll_interval_(poll_interval) {
  open_.store(std::make_shared<const TableMap>());
  if (poll_interval_.count() > 0) thread_ = std::thread([this] { Loop(); });
}

FeatureTables::~FeatureTables() {
  {
    core::MutexLock lock(mutex_);
    stopping_ = true;
  }
  stop_signal_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const store::PredictionTable> FeatureTables::Current(std::string_view table) const {
  const std::shared_ptr<const TableMap> open = open_.load(std::memory_order_acquire);
  auto it = open->find(table);
  return it == open->end() ? nullptr : it->second;
}

absl::Status FeatureTables::Follow(std::string_view table) const {
  {
    core::MutexLock lock(mutex_);
    followed_.emplace(table);
  }
  if (Current(table)) return absl::OkStatus();
  return Refresh(std::string(table));
}

absl::Status FeatureTables::Refresh(const std::string& table) const {
  absl::StatusOr<int64_t> version = store_->CurrentVersion(table);
  if (!version.ok()) return version.status();
  std::shared_ptr<const store::PredictionTable> current = Current(table);
  if (current && current->manifest().version == *version) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<store::PredictionTable>> opened = store_->Open(table, *version);
  if (!opened.ok()) return opened.status();
  core::MutexLock lock(mutex_);
  auto next = std::make_shared<TableMap>(*open_.load());
  (*next)[table] = *std::move(opened);
  open_.store(std::move(next), std::memory_order_release);
  spdlog::info("feature table '{}' version {} is open", table, *version);
  return absl::OkStatus();
}

void FeatureTables::Loop() {
  core::MutexLock lock(mutex_);
  while (!stopping_) {
    stop_signal_.WaitUntil(mutex_, std::chrono::steady_clock::now() + poll_interval_);
    if (stopping_) return;
    std::vector<std::string> tables;
    tables.assign(followed_.begin(), followed_.end());
    mutex_.Unlock();
    for (const std::string& table : tables) {
      if (absl::Status s = Refresh(table); !s.ok()) {
        spdlog::warn("feature table '{}': {}", table, std::string(s.message()));
      }
    }
    mutex_.Lock();
  }
}

}  // namespace strata::serving
