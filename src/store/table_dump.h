// A table dump is a table version's records written to sorted runs
// (store/sorted_run.h): the store-independent copy that backups keep of
// tables whose store cannot be copied as files (Redis). DumpTable gathers
// records in chunks of about `chunk_bytes`, sorts each and writes it as
// run-00000, run-00001, ... in `dir`; a SortedRunMerger over the runs gives
// every record back in ascending key order. Not thread-safe.
#ifndef STRATA_STORE_TABLE_DUMP_H_
#define STRATA_STORE_TABLE_DUMP_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "store/prediction_table.h"
#include "store/table_manifest.h"

namespace strata::store {

struct TableDump {
  std::vector<std::filesystem::path> runs = {};  // in `dir`, in the order written
  int64_t rows = 0;
  std::string checksum = {};  // TableChecksum::ToString() of the records
};

// Called now and then with the records dumped so far.
using DumpProgress = std::function<void(int64_t rows)>;

// REQUIRES: `dir` exists. The caller compares the dump's checksum with the
// manifest's.
absl::StatusOr<TableDump> DumpTable(const PredictionTable& table, const std::filesystem::path& dir,
                                    size_t chunk_bytes = size_t{64} << 20,
                                    const DumpProgress& progress = {});

// Reads the runs back and compares their row count and checksum with
// `manifest`'s: DATA_LOSS when they differ or a run is damaged.
absl::Status VerifyDump(const std::vector<std::filesystem::path>& runs,
                        const TableManifest& manifest);

}  // namespace strata::store

#endif  // STRATA_STORE_TABLE_DUMP_H_
