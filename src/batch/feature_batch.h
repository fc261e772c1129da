// The feature stage of `strata batch`, for a model version with
// features.yaml: input rows carry entity keys and request fields (CSV or
// JSON Lines, columns named like them), not the model's inputs. Each batch
// of rows goes through features::FeatureLookup::Fill (one multi-get per
// feature table) and features::FeaturePipeline::Assemble, the code the
// server runs, and only then to the model, so a table made offline holds
// what the server would compute online. The feature tables are read at the
// versions published when the job starts (PublishedFeatureTables); the job
// records them in its output table's manifest. Immutable once built;
// thread-safe (workers share it).
#ifndef STRATA_BATCH_FEATURE_BATCH_H_
#define STRATA_BATCH_FEATURE_BATCH_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "batch/row_decoder.h"
#include "core/tensor.h"
#include "features/feature_lookup.h"
#include "features/feature_pipeline.h"
#include "runtime/model_config.h"
#include "store/key_schema.h"
#include "store/table_store.h"

namespace strata::batch {

// Each feature table of a definition at the version its store publishes
// now, opened once.
class PublishedFeatureTables : public features::FeatureTableSource {
 public:
  // Error naming the table when one has no published version, cannot be
  // opened, or is not a feature table of the definition's key and columns.
  static absl::StatusOr<std::unique_ptr<PublishedFeatureTables>> Open(
      const store::TableStore& store, const features::FeatureDefinition& definition);

  std::shared_ptr<const store::PredictionTable> Current(std::string_view table) const override;
  // Table -> the version read.
  const std::map<std::string, int64_t, std::less<>>& versions() const { return versions_; }

 private:
  std::map<std::string, std::shared_ptr<const store::PredictionTable>, std::less<>> tables_;
  std::map<std::string, int64_t, std::less<>> versions_;
};

class FeatureBatch {
 public:
  // `header`: the CSV header (ignored for JSON Lines). Errors when the model
  // does not take the definition's outputs (FP32 [-1, width]) or a key or
  // request column is not in the input.
  static absl::StatusOr<std::unique_ptr<FeatureBatch>> Create(
      InputFormat format, std::string_view header, const store::KeySchema& key,
      const runtime::ModelConfig& model, std::shared_ptr<const features::FeaturePipeline> pipeline,
      const features::FeatureTableSource& tables, int64_t now);

  size_t slots() const { return pipeline_->slots().size(); }

  // Decodes `line` into row `index` of `rows` (its request and key slots)
  // and the output key of `row`. Errors name the column.
  absl::Status Decode(std::string_view line, features::RawRows& rows, size_t index,
                      DecodedRow& row) const;

  // Looks the rows' features up and assembles the model's inputs, in the
  // model's input order.
  absl::StatusOr<std::vector<core::Tensor>> Inputs(features::RawRows& rows) const;

 private:
  FeatureBatch(std::shared_ptr<const features::FeaturePipeline> pipeline,
               const features::FeatureTableSource& tables)
      : pipeline_(std::move(pipeline)), lookup_(pipeline_), tables_(tables) {}
  absl::Status Locate(std::string_view header);
  absl::Status Store(std::span<const std::string_view> fields, features::RawRows& rows,
                     size_t index, DecodedRow& row) const;

  InputFormat format_ = InputFormat::kCsv;
  store::KeySchema key_;
  std::shared_ptr<const features::FeaturePipeline> pipeline_;
  features::FeatureLookup lookup_;
  const features::FeatureTableSource& tables_;
  int64_t now_ = 0;
  std::vector<std::string> input_order_;  // the model's input names
  // The columns read: per raw slot read from the input and per key column,
  // its name (JSON Lines) and field index (CSV).
  struct Field {
    std::string name;
    int index = -1;
    int slot = -1;  // -1: a key column only
  };
  std::vector<Field> fields_;  // slots first, then the key columns
  size_t slot_fields_ = 0;
};

}  // namespace strata::batch

#endif  // STRATA_BATCH_FEATURE_BATCH_H_
