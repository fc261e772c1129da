#include "store/table_verification.h"

#include <memory>

#include "fmt/format.h"
#include "store/table_checksum.h"

namespace strata::store {

absl::Status VerifyTableData(const PredictionTable& table) {
  const TableManifest& m = table.manifest();
  TableChecksum checksum;
  absl::Status scanned = table.Scan([&](std::string_view key, std::string_view value) {
    if (m.kind == TableKind::kPredictions && value.size() != m.ValueSize()) {
      return absl::DataLossError(
          fmt::format("a value has {} bytes, not {}", value.size(), m.ValueSize()));
    }
    checksum.Add(key, value);
    return absl::OkStatus();
  });
  if (!scanned.ok()) return scanned;
  if (checksum.count() != m.rows || checksum.ToString() != m.checksum) {
    return absl::DataLossError(
        fmt::format("table '{}' version {}: data checksum {} does not match "
                    "the manifest's {}",
                    m.table, m.version, checksum.ToString(), m.checksum));
  }
  return absl::OkStatus();
}

absl::Status VerifyTableVersion(const TableStore& store, std::string_view table, int64_t version) {
  absl::StatusOr<std::shared_ptr<PredictionTable>> opened = store.Open(table, version);
  if (!opened.ok()) return opened.status();
  return VerifyTableData(**opened);
}

}  // namespace strata::store
