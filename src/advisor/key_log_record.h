// KeyLogRecord is one line of a key log, the JSON Lines file a server
// writes when asked to (`--key-log`): when a row was asked for, by which
// endpoint, and its key, either as the key columns' values or, when the
// server hashes keys, as a fingerprint:
//
//   {"ts":1718000000.125,"endpoint":"purchase","key":{"user_id":7,"product_id":42}}
//   {"ts":1718000000.127,"endpoint":"purchase","key_hash":"5f0c6b1e9a3d2c71","sample":0.1}
//
// `sample` is the share of rows the server logged (1 when absent).
// ParseKeyLogLine reads such a line without a general JSON parser: the key
// is kept as its exact JSON text, which identifies it (the server writes
// each key the same way every time). Pure function; thread-safe.
#ifndef STRATA_ADVISOR_KEY_LOG_RECORD_H_
#define STRATA_ADVISOR_KEY_LOG_RECORD_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace strata::advisor {

struct KeyLogRecord {
  double ts = 0;  // seconds since the Unix epoch
  std::string endpoint;
  std::string key;      // JSON text of "key", or the "key_hash" string
  bool hashed = false;  // `key` is a fingerprint, not key values
  double sample = 1;
};

// INVALID_ARGUMENT saying what is wrong for a line that is not a key log
// record (no key, not an object, broken JSON).
absl::StatusOr<KeyLogRecord> ParseKeyLogLine(std::string_view line);

}  // namespace strata::advisor

#endif  // STRATA_ADVISOR_KEY_LOG_RECORD_H_
