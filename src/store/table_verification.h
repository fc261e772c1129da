// VerifyTableData recomputes an open table version's row count and checksum
// from its data and compares them with its manifest: what `strata table
// verify` and `publish` check before a version is trusted, and what backups
// and restores check before they keep one. Pure functions; thread-safe as
// the table is.
#ifndef STRATA_STORE_TABLE_VERIFICATION_H_
#define STRATA_STORE_TABLE_VERIFICATION_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "store/prediction_table.h"
#include "store/table_store.h"

namespace strata::store {

// DATA_LOSS naming the table and version when a value has the wrong size (a
// prediction table; feature rows vary in size) or the checksum of every
// (key, value) differs from the manifest's.
absl::Status VerifyTableData(const PredictionTable& table);

// Opens the committed version `version` of `table` (the store checks its
// files) and verifies its data.
absl::Status VerifyTableVersion(const TableStore& store, std::string_view table, int64_t version);

}  // namespace strata::store

#endif  // STRATA_STORE_TABLE_VERIFICATION_H_
