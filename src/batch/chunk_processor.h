// ChunkProcessor turns one chunk of input lines into its sorted run: it
// decodes rows, runs the model in batches, and writes (key, value) records
// sorted by key into parts/part-<index>.run (for a file output the key is
// the row's position and the value carries the key texts, see
// EncodeFileValue). Malformed rows fail the chunk, or, with rejects on, go
// to parts/part-<index>.rejects, which is written before the run so that an
// existing run means the chunk is wholly done. Thread-safe: workers share
// one processor.
#ifndef STRATA_BATCH_CHUNK_PROCESSOR_H_
#define STRATA_BATCH_CHUNK_PROCESSOR_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "batch/chunk_reader.h"
#include "batch/feature_batch.h"
#include "batch/row_decoder.h"
#include "runtime/model.h"
#include "runtime/model_config.h"
#include "store/table_manifest.h"

namespace strata::batch {

struct ChunkProcessorOptions {
  const runtime::ModelConfig* model_config = nullptr;
  runtime::Model* model = nullptr;
  const RowDecoder* decoder = nullptr;
  // Set for a model with features.yaml: rows are decoded and turned into the
  // model's inputs by the feature stage instead of `decoder`.
  const FeatureBatch* features = nullptr;
  std::vector<store::OutputColumn> outputs;
  std::filesystem::path parts_dir;
  int64_t batch_size = 8192;
  bool file_output = false;  // records keyed by row position
  bool reject = false;       // skip malformed rows instead of failing
};

class ChunkProcessor {
 public:
  explicit ChunkProcessor(ChunkProcessorOptions options) : options_(std::move(options)) {}

  // Returns the number of rejected rows.
  absl::StatusOr<int64_t> Process(const Chunk& chunk) const;

  static std::filesystem::path RunPath(const std::filesystem::path& parts_dir, int64_t index);
  static std::filesystem::path RejectsPath(const std::filesystem::path& parts_dir, int64_t index);

 private:
  ChunkProcessorOptions options_;
};

// The table outputs of a model: its declared outputs without the batch
// dimension. Error for BYTES or variable-size outputs.
absl::StatusOr<std::vector<store::OutputColumn>> TableOutputs(const runtime::ModelConfig& config);

// A file output record's value: each key text (u32 length, bytes), then the
// row's outputs; and its inverse.
void EncodeFileValue(const std::vector<std::string>& key_texts, std::string_view outputs,
                     std::string& value);
bool DecodeFileValue(std::string_view value, size_t key_columns,
                     std::vector<std::string_view>& key_texts, std::string_view& outputs);

}  // namespace strata::batch

#endif  // STRATA_BATCH_CHUNK_PROCESSOR_H_
