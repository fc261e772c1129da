// RowDecoder turns one input line (a CSV record or a JSON Lines object) into
// a row of the batch job: the texts of its key columns, the key (see
// store::KeySchema) and the model's input values, written into the input
// tensors at a given row. How columns map to model inputs:
//
//   - an explicit mapping ("features=price,weekday,store_size") gives, per
//     model input, its columns in order; an input of shape [-1, k] takes k
//     columns, an input of shape [-1] one;
//   - without one, an input takes the column named like it (JSON Lines: a
//     number, or an array of k numbers); and when the model has one input
//     and no column is named like it, that input takes every non-key column
//     in file order (CSV only).
//
// Immutable after Create(); Decode() is thread-safe.
#ifndef STRATA_BATCH_ROW_DECODER_H_
#define STRATA_BATCH_ROW_DECODER_H_

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"
#include "runtime/model_config.h"
#include "store/key_schema.h"

namespace strata::batch {

enum class InputFormat { kCsv, kJsonl };

// Model input name -> its columns, in order.
using InputMapping = std::map<std::string, std::vector<std::string>, std::less<>>;

// Parses "features=a,b,c" into `mapping`.
absl::Status ParseMappingFlag(std::string_view flag, InputMapping& mapping);

struct DecodedRow {
  std::vector<std::string> key_texts;  // one per key column
  std::string key;                     // the encoded key
};

class RowDecoder {
 public:
  virtual ~RowDecoder() = default;

  // `header` is the CSV header line (ignored for JSON Lines). Errors say
  // which column is missing or which input has the wrong column count.
  static absl::StatusOr<std::unique_ptr<RowDecoder>> Create(InputFormat format,
                                                            std::string_view header,
                                                            const store::KeySchema& key,
                                                            const runtime::ModelConfig& model,
                                                            const InputMapping& mapping);

  // Decodes `line` into `row` and into row `index` of `inputs` (one tensor
  // per model input, in config order, already sized). Errors describe the
  // bad field (the caller adds the line number).
  virtual absl::Status Decode(std::string_view line, int64_t index,
                              std::vector<core::Tensor>& inputs, DecodedRow& row) const = 0;
};

// Writes the text `field` as element `element` of `tensor` (of its dtype).
absl::Status StoreNumber(std::string_view field, core::Tensor& tensor, int64_t element);

// Splits a CSV record into fields (RFC 4180 quoting; no newlines inside
// fields). Unquoted fields are views of `line`; unescaped quoted fields live
// in `storage`.
absl::Status SplitCsv(std::string_view line, std::vector<std::string_view>& fields,
                      std::deque<std::string>& storage);

}  // namespace strata::batch

#endif  // STRATA_BATCH_ROW_DECODER_H_
