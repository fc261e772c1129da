#include "store/memory_table_store.h"

#include "fmt/format.h"

namespace strata::store {
namespace {

using Records = std::map<std::string, std::string, std::less<>>;

class MemoryPredictionTable : public PredictionTable {
 public:
  MemoryPredictionTable(TableManifest manifest, std::shared_ptr<const Records> records)
      : manifest_(std::move(manifest)), records_(std::move(records)) {}
  const TableManifest& manifest() const override { return manifest_; }
  absl::StatusOr<LookupResult> MultiGet(std::span<const std::string> keys) const override {
    LookupResult result;
    result.values.resize(keys.size());
    result.found.assign(keys.size(), 0);
    for (size_t i = 0; i < keys.size(); ++i) {
      if (auto it = records_->find(keys[i]); it != records_->end()) {
        result.values[i] = it->second;
        result.found[i] = 1;
      }
    }
    return result;
  }
  absl::Status Scan(const Visitor& visit) const override {
    for (const auto& [key, value] : *records_) {
      if (absl::Status s = visit(key, value); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  TableManifest manifest_;
  std::shared_ptr<const Records> records_;
};

}  // namespace

class MemoryTableBuilder : public TableBuilder {
 public:
  MemoryTableBuilder(MemoryTableStore& store, std::string table)
      : store_(store), table_(std::move(table)) {}
  absl::Status Add(std::string_view key, std::string_view value) override {
    records_->emplace(std::string(key), std::string(value));
    return absl::OkStatus();
  }
  absl::StatusOr<int64_t> Commit(TableManifest manifest) override {
    manifest.store = "memory";
    core::MutexLock lock(store_.mutex_);
    auto& versions = store_.tables_[table_].versions;
    manifest.version = versions.empty() ? 1 : versions.rbegin()->first + 1;
    const int64_t version = manifest.version;
    versions[version] = {std::move(manifest), std::move(records_)};
    return version;
  }

 private:
  MemoryTableStore& store_;
  std::string table_;
  std::shared_ptr<Records> records_ = std::make_shared<Records>();
};

absl::StatusOr<std::vector<std::string>> MemoryTableStore::ListTables() const {
  core::MutexLock lock(mutex_);
  std::vector<std::string> names;
  for (const auto& [name, table] : tables_) names.push_back(name);
  return names;
}

absl::StatusOr<std::vector<int64_t>> MemoryTableStore::ListVersions(std::string_view table) const {
  core::MutexLock lock(mutex_);
  std::vector<int64_t> versions;
  if (auto it = tables_.find(table); it != tables_.end()) {
    for (const auto& [v, version] : it->second.versions) versions.push_back(v);
  }
  return versions;
}

absl::StatusOr<TableManifest> MemoryTableStore::ReadManifest(std::string_view table,
                                                             int64_t version) const {
  core::MutexLock lock(mutex_);
  auto it = tables_.find(table);
  if (it == tables_.end() || !it->second.versions.contains(version)) {
    return absl::NotFoundError(fmt::format("table '{}' has no version {}", table, version));
  }
  return it->second.versions.at(version).manifest;
}

absl::StatusOr<int64_t> MemoryTableStore::CurrentVersion(std::string_view table) const {
  core::MutexLock lock(mutex_);
  auto it = tables_.find(table);
  if (it == tables_.end() || it->second.versions.empty()) return 0;
  return it->second.current ? it->second.current : it->second.versions.rbegin()->first;
}

absl::Status MemoryTableStore::SetCurrentVersion(std::string_view table, int64_t version) {
  core::MutexLock lock(mutex_);
  auto it = tables_.find(table);
  if (it == tables_.end() || !it->second.versions.contains(version)) {
    return absl::NotFoundError(fmt::format("table '{}' has no version {}", table, version));
  }
  it->second.current = version;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<TableBuilder>> MemoryTableStore::NewBuilder(
    std::string_view table, const std::filesystem::path&) {
  if (absl::Status s = ValidateTableName(table); !s.ok()) return s;
  return std::unique_ptr<TableBuilder>(new MemoryTableBuilder(*this, std::string(table)));
}

absl::StatusOr<std::shared_ptr<PredictionTable>> MemoryTableStore::Open(std::string_view table,
                                                                        int64_t version) const {
  core::MutexLock lock(mutex_);
  auto it = tables_.find(table);
  if (it == tables_.end() || !it->second.versions.contains(version)) {
    return absl::NotFoundError(fmt::format("table '{}' has no version {}", table, version));
  }
  const Version& v = it->second.versions.at(version);
  return std::shared_ptr<PredictionTable>(new MemoryPredictionTable(v.manifest, v.records));
}

absl::StatusOr<int> MemoryTableStore::RemoveOldVersions(std::string_view table, int keep) {
  core::MutexLock lock(mutex_);
  auto it = tables_.find(table);
  if (it == tables_.end()) return 0;
  auto& versions = it->second.versions;
  int removed = 0;
  while (static_cast<int>(versions.size()) > keep) {
    auto oldest = versions.begin();
    if (oldest->first == it->second.current) break;
    versions.erase(oldest);
    ++removed;
  }
  return removed;
}

}  // namespace strata::store
