// TableManifest describes one table version: the model version that produced
// it, its key columns, the layout of its values, its row count and checksum,
// and the verification report that allowed it to be published. It is written
// next to the data (manifest.yaml, or a Redis key) and read back by servers
// and by `strata table`. Value types and pure functions; thread-safe.
//
// A value holds one row's outputs back to back, each `ElementSize(dtype) *
// elements(shape)` bytes, little-endian (the Tensor layout).
#ifndef STRATA_STORE_TABLE_MANIFEST_H_
#define STRATA_STORE_TABLE_MANIFEST_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/datatype.h"
#include "core/shape.h"
#include "store/key_schema.h"

namespace strata::store {

// One output of a row: `shape` excludes the batch dimension ([] for a
// scalar per row).
struct OutputColumn {
  std::string name;
  core::DataType dtype = core::DataType::kFp32;
  core::Shape shape;

  size_t ElementsPerRow() const;
  size_t BytesPerRow() const;
};

// Statistics of one output over every row (all of its elements).
struct OutputStats {
  std::string name;
  int64_t count = 0;  // finite values
  int64_t nan = 0;
  int64_t inf = 0;
  double min = 0;
  double max = 0;
  double mean = 0;
  // (q, value) for q in kReportedQuantiles.
  std::vector<std::pair<double, double>> quantiles;
  // Class histogram for integer outputs: value -> rows; empty otherwise.
  std::map<int64_t, int64_t> classes;
  // The distribution that the next version's PSI is measured against: bin
  // upper edges (value <= edge), and the fraction of values in each bin
  // (one more than edges: the last bin is open).
  std::vector<double> psi_edges;
  std::vector<double> psi_fractions;

  // The value at quantile q by linear interpolation of `quantiles`.
  double Quantile(double q) const;
};

inline constexpr double kReportedQuantiles[] = {0.0, 0.01, 0.05, 0.1, 0.2,  0.3,  0.4, 0.5,
                                                0.6, 0.7,  0.8,  0.9, 0.95, 0.99, 1.0};

struct CheckResult {
  std::string name;  // e.g. "nan", "range", "psi"
  bool passed = true;
  std::string detail;  // what was measured against what was expected
};

struct VerificationReport {
  bool passed = true;
  int64_t rows = 0;
  std::vector<OutputStats> outputs;
  int64_t previous_version = 0;  // compared against; 0 when none
  std::optional<double> psi;     // of the first output vs previous_version
  std::vector<CheckResult> checks;
};

// What a table holds: predictions written by `strata batch` (fixed-size
// values, `outputs`), or a feature table written by `strata features
// materialize` (values are features::EncodeFeatureRow rows of variable size;
// `outputs` lists the table's columns: INT64, FP64 or BYTES, shape []).
enum class TableKind { kPredictions, kFeatures };

struct TableManifest {
  std::string table;
  TableKind kind = TableKind::kPredictions;
  int64_t version = 0;
  std::string store;  // "rocksdb" or "redis"
  std::string model_name;
  int64_t model_version = 0;
  KeySchema key;
  std::vector<OutputColumn> outputs;
  int64_t rows = 0;
  std::string created;   // UTC, ISO 8601
  std::string checksum;  // TableChecksum::ToString() of every (key, value)
  std::string job;       // the batch job id that built it
  // For predictions computed through features.yaml: each feature table read
  // and its version (`strata batch` reads the versions published at start).
  std::map<std::string, int64_t, std::less<>> feature_tables;
  VerificationReport verification;

  size_t ValueSize() const;
};

std::string ManifestToYaml(const TableManifest& manifest);
absl::StatusOr<TableManifest> ParseManifest(std::string_view yaml);

// The current UTC time as "2026-11-22T15:37:44Z".
std::string UtcNow();

}  // namespace strata::store

#endif  // STRATA_STORE_TABLE_MANIFEST_H_
