#include "serving/lifecycle/table_opener.h"

#include <algorithm>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "spdlog/spdlog.h"

namespace strata::serving {

absl::StatusOr<std::shared_ptr<InMemoryTable>> InMemoryTable::Load(
    std::shared_ptr<store::PredictionTable> table, size_t max_bytes) {
  const store::TableManifest& m = table->manifest();
  const size_t min_row = m.ValueSize() + m.key.size() + kRowOverhead;
  if (m.rows < 0 || static_cast<size_t>(m.rows) > max_bytes / std::max<size_t>(min_row, 1)) {
    return nullptr;
  }
  std::shared_ptr<InMemoryTable> held(new InMemoryTable(table));
  held->rows_.reserve(static_cast<size_t>(m.rows));
  size_t bytes = 0;
  bool fits = true;
  absl::Status s = table->Scan([&](std::string_view key, std::string_view value) {
    bytes += key.size() + value.size() + kRowOverhead;
    if (bytes > max_bytes) {
      fits = false;
      return absl::OutOfRangeError("too large to hold in memory");
    }
    held->rows_.emplace(absl::string_view(key.data(), key.size()), std::string(value));
    return absl::OkStatus();
  });
  if (!fits) return nullptr;
  if (!s.ok()) return s;
  held->bytes_ = bytes;
  return held;
}

absl::StatusOr<store::LookupResult> InMemoryTable::MultiGet(
    std::span<const std::string> keys) const {
  store::LookupResult result;
  result.values.resize(keys.size());
  result.found.assign(keys.size(), 0);
  for (size_t i = 0; i < keys.size(); ++i) {
    auto it = rows_.find(absl::string_view(keys[i].data(), keys[i].size()));
    if (it == rows_.end()) continue;
    result.values[i] = it->second;
    result.found[i] = 1;
  }
  return result;
}

std::optional<size_t> InMemoryBytes(const store::PredictionTable& table) {
  if (const auto* held = dynamic_cast<const InMemoryTable*>(&table)) return held->bytes();
  return std::nullopt;
}

double BytesPerEntry(const store::PredictionTable& table) {
  const store::TableManifest& m = table.manifest();
  const std::optional<size_t> held = InMemoryBytes(table);
  if (held && m.rows > 0) return static_cast<double>(*held) / static_cast<double>(m.rows);
  size_t key_bytes = 0;
  for (const store::KeyColumn& c : m.key.columns()) {
    key_bytes += c.dtype == core::DataType::kBytes ? 16 : 8;
  }
  return static_cast<double>(m.ValueSize() + key_bytes + InMemoryTable::kRowOverhead);
}

namespace {

absl::Status CheckKey(const store::TableManifest& manifest, const std::vector<std::string>& key) {
  if (key.empty()) return absl::OkStatus();
  const std::vector<store::KeyColumn>& columns = manifest.key.columns();
  bool same = columns.size() == key.size();
  for (size_t c = 0; same && c < columns.size(); ++c) same = columns[c].name == key[c];
  if (same) return absl::OkStatus();
  return absl::FailedPreconditionError(fmt::format("its key is {} but the endpoint's key is [{}]",
                                                   manifest.key.ToString(), fmt::join(key, ", ")));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const store::PredictionTable>> OpenTableVersion(
    std::string_view table, int64_t version, const TableFollowOptions& options) {
  absl::StatusOr<std::shared_ptr<store::PredictionTable>> opened =
      options.store->Open(table, version);
  if (!opened.ok()) return opened.status();
  if (absl::Status s = CheckKey((*opened)->manifest(), options.key); !s.ok()) return s;
  if (options.store->kind() != "rocksdb" || options.in_memory_bytes == 0) return *opened;
  absl::StatusOr<std::shared_ptr<InMemoryTable>> held =
      InMemoryTable::Load(*opened, options.in_memory_bytes);
  if (!held.ok()) return held.status();  // the data does not read back
  if (*held == nullptr) return *opened;  // too large: looked up in RocksDB
  spdlog::info("table '{}' version {} held in memory ({} rows, {:.1f} MiB)", table, version,
               (*opened)->manifest().rows, static_cast<double>((*held)->bytes()) / (1 << 20));
  return std::shared_ptr<const store::PredictionTable>(*std::move(held));
}

}  // namespace strata::serving
