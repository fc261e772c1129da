// Training-serving skew, measured offline (`strata features skew`): each row
// of the server's served-feature log (JSON Lines, docs/features.md) is
// recomputed from the same feature table versions it names and the same
// definition: its entities, logged as keyed hashes (keyed_hash.h), are
// found again by hashing every key of their tables with the same secret;
// the table rows are read and decoded, judged fresh or stale at the logged
// time, and the pipeline computes the vector again. Per feature it reports
// the share of rows whose floats differ bit-wise (0 is the goal) and the
// population stability index (PSI, 10 quantile bins of the training set)
// between the served vectors and a training set. Not thread-safe.
#ifndef STRATA_FEATURES_SKEW_H_
#define STRATA_FEATURES_SKEW_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "features/feature_pipeline.h"
#include "features/keyed_hash.h"
#include "features/source_reader.h"
#include "store/prediction_table.h"
#include "store/table_store.h"

namespace strata::features {

// One line of the served-feature log.
struct ServedRow {
  int64_t ts = 0;  // when it was served (unix seconds): max_age is judged then
  std::string request_id;
  std::string model;
  int64_t version = 0;
  std::map<std::string, std::string, std::less<>> entities;  // entity -> keyed hash
  std::map<std::string, FeatureValue, std::less<>> request;  // request field -> value
  std::map<std::string, int64_t, std::less<>> tables;        // table -> version read, 0: none
  std::vector<float> vector;
};

// Parses one log line; request fields are typed by `definition`. Errors
// name the field.
absl::StatusOr<ServedRow> ParseServedRow(std::string_view line,
                                         const FeatureDefinition& definition);

struct FeatureSkew {
  std::string name;
  int64_t differing = 0;      // rows where any of its floats differs bit-wise
  std::optional<double> psi;  // served vs training, the largest over its floats
};

struct SkewReport {
  int64_t rows = 0;                   // log rows compared
  int64_t differing_rows = 0;         // rows with any float differing
  int64_t unmatched = 0;              // rows that could not be recomputed (see problems)
  std::vector<FeatureSkew> features;  // definition order
  std::vector<std::string> problems;  // the first few differences and failures, for people
};

class SkewChecker {
 public:
  SkewChecker(std::shared_ptr<const FeaturePipeline> pipeline, const store::TableStore& store,
              KeyedHasher hasher);

  // Recomputes `row` and compares it with its logged vector.
  void Add(const ServedRow& row);
  // The report so far; with `training` (rows read with TrainingColumns()),
  // the PSI of each feature between the served vectors and the training set.
  SkewReport Report(const SourceRows* training) const;

  // The columns of a training set (`strata features build`'s CSV) to read.
  std::vector<SourceColumn> TrainingColumns() const;

 private:
  struct TableVersion {
    std::shared_ptr<store::PredictionTable> table;
    absl::Status status;
  };
  const TableVersion& Open(const std::string& table, int64_t version);
  absl::StatusOr<RawRows> Recompute(const ServedRow& row);
  absl::Status FillKeys(const ServedRow& row, RawRows& raw, std::vector<std::string>& keys);
  absl::Status FillTables(const ServedRow& row, const std::vector<std::string>& keys, RawRows& raw);
  void Compare(const ServedRow& row, std::span<const float> expected);
  void Problem(std::string text);

  std::shared_ptr<const FeaturePipeline> pipeline_;
  const store::TableStore& store_;
  KeyedHasher hasher_;
  std::map<std::pair<std::string, int64_t>, TableVersion> versions_;
  // Per entity: keyed hash -> canonical key bytes, from the versions opened.
  std::map<std::string, std::unordered_map<std::string, std::string>, std::less<>> keys_;
  std::vector<size_t> float_feature_;  // per float of a row, its feature's index
  SkewReport report_;
  std::vector<std::vector<float>> served_;  // per float column, for the PSI
};

}  // namespace strata::features

#endif  // STRATA_FEATURES_SKEW_H_
