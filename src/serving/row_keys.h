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

#include "core/infer_request.h"
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

// One key per row for a request without key columns (a model's own
// endpoint): the 16 hex digits of the fingerprint of the row's bytes in
// every input, inputs taken in name order (so the order a client lists them
// in does not matter). Empty when an input is BYTES or the inputs disagree
// on the row count.
std::vector<std::string> RowContentKeys(const core::InferRequest& request);

}  // namespace strata::serving

#endif  // STRATA_SERVING_ROW_KEYS_H_
