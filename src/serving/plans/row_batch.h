// RowBatch is one request to an endpoint on its way through the stages of
// the endpoint's plan (serving/plans/stage.h): the request's rows, each
// row's key computed once (canonical bytes, store/key_schema.h), the answer
// buffer, and the layer that answered each row. A stage answers some rows
// (writes their bytes into `values` and sets their `layers`) and leaves the
// rest to the next. The key's JSON text (serving/row_keys.h's format), which
// only the key log and the live sketch need, is made from the bytes on
// demand. A batch is used by one stage at a time; not thread-safe.
#ifndef STRATA_SERVING_PLANS_ROW_BATCH_H_
#define STRATA_SERVING_PLANS_ROW_BATCH_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/infer_request.h"
#include "serving/plans/plan_kind.h"
#include "store/key_schema.h"
#include "store/prediction_table.h"

namespace strata::serving {

struct ServedModel;

// One output's place in a row's answer bytes.
struct OutputSlot {
  std::string name;
  core::DataType dtype = core::DataType::kFp32;
  core::Shape row_shape;  // without the batch dimension
  size_t bytes = 0;       // per row
  size_t offset = 0;      // in the row's concatenated outputs
};

// What a request needs to know about the versions answering it, worked out
// once per pair of versions (model, table), not per request.
struct RowLayout {
  std::vector<OutputSlot> slots;
  size_t row_bytes = 0;
  // Where each slot sits in a table row; empty: the table is not used.
  std::vector<size_t> table_offsets;
  size_t table_value_bytes = 0;   // a table row's size
  bool table_row_is_row = false;  // a table row is exactly a row's answer
  std::string cache_prefix;       // PredictionCache::Key(model, version, "")
};

struct RowBatch {
  using Clock = std::chrono::steady_clock;

  std::string endpoint;  // the name called
  std::string id;
  bool has_id = false;
  std::vector<core::RequestedOutput> requested;
  core::Parameters parameters;  // passed on to the model

  // One key per row: canonical key bytes under `key_schema`, or, for a plan
  // without key columns, the row's validated input bytes.
  std::vector<std::string> keys;
  store::KeySchema key_schema;  // no columns: keys are input bytes

  std::shared_ptr<const RowLayout> layout;
  std::vector<uint8_t> values;  // rows x layout->row_bytes
  std::vector<Layer> layers;    // per row

  // The table version to look in (null: none), and whether its store could
  // not be asked (the response says `degraded`).
  std::shared_ptr<const store::PredictionTable> table;
  bool table_answered = false;
  bool degraded = false;

  // The model version found once for the request (null: none), its inputs
  // for the rows that reach it, and whether they were validated already.
  std::shared_ptr<const ServedModel> model;
  std::vector<core::Tensor> model_inputs;
  bool inputs_validated = false;
  // The rows the model computed, one per distinct key (what the cache
  // keeps); rows with a key asked twice share its answer.
  std::vector<size_t> model_rows;

  // Models with a features.yaml (serving/served_features.h): until the
  // FeatureStage runs, `model_inputs` are the request's key columns and
  // request fields; then they are the model's inputs. `feature_vectors` is
  // the vector of every row ([rows, width] FP32, output `features`) when
  // the request asked for it (parameter `return_features`).
  bool features_done = false;
  std::optional<core::Tensor> feature_vectors;

  Clock::time_point start = Clock::now();

  size_t rows() const { return keys.size(); }
  // Sizes values and layers for `layout`; every row unanswered.
  void Reset(std::shared_ptr<const RowLayout> row_layout);
  int64_t Count(Layer layer) const;
  // The rows no stage has answered yet.
  std::vector<size_t> Unanswered() const;
  uint8_t* Row(size_t row) { return values.data() + row * layout->row_bytes; }

  // The JSON text of each row's key, `{"user_id":7,"product_id":42}`, bounded
  // to core::kMaxKeyBytes by its fingerprint marker; empty when the batch
  // has no key columns. Made from `keys` on each call.
  std::vector<std::string> KeyTexts() const;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_PLANS_ROW_BATCH_H_
