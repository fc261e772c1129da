// RowKeys turns the key columns of a request into one canonical text per
// row, the JSON object of the row's key values in key-column order:
//
//   {"user_id":7,"product_id":42}
//
// It is how the key log writes keys and how the live workload sketches
// count them, so `strata advise` sees the same key from either source and
// `--export-hot-keys` can write it back as a batch-job input. Key columns
// are integer or BYTES tensors with one element per row. A text longer than
// core::kMaxKeyBytes (a BYTES key a megabyte long, say) is replaced by its
// fixed-size fingerprint marker (core::BoundedKey), so no key costs the
// sketches or the key log more than that; such a key is counted like any
// other but cannot be exported. Pure functions; thread-safe.
#ifndef STRATA_SERVING_ROW_KEYS_H_
#define STRATA_SERVING_ROW_KEYS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/infer_request.h"
#include "core/tensor.h"
#include "store/key_schema.h"

namespace strata::serving {

// One key text per row of `request`, each bounded, or empty when a key column is missing,
// has another datatype, or its row count disagrees with the others (such a
// request fails validation anyway).
std::vector<std::string> RowKeyTexts(const std::vector<std::string>& key_columns,
                                     const core::InferRequest& request);

// The same texts from canonical key bytes (store/key_schema.h) under
// `schema`: how a plan that computed its keys once makes their text for the
// key log and the sketch. Empty when `schema` has no columns or a key does
// not decode.
std::vector<std::string> KeyTextsOf(const store::KeySchema& schema,
                                    const std::vector<std::string>& keys);

// The content key of each row, for a plan or model without key columns:
// the row's bytes across `inputs` (a fixed-size input's row slice; a BYTES
// input's elements, each behind its 4-byte length), inputs taken in their
// order. Computed once per request from the validated inputs (in the
// config's order, so the order a client lists them in does not matter): a
// dynamic plan's cache keys rows by it, and the live sketch counts its
// fingerprint (ContentFingerprints), the same for a model's own endpoint.
absl::StatusOr<std::vector<std::string>> RowInputKeys(const std::vector<core::Tensor>& inputs);

// The sketch's key of each row without key columns: the 16 hex digits of
// the fingerprint (core::Fingerprint64) of its content key, so a sketch
// entry costs the same whatever the row's size.
std::vector<std::string> ContentFingerprints(const std::vector<std::string>& content_keys);

}  // namespace strata::serving

#endif  // STRATA_SERVING_ROW_KEYS_H_
