// KeyLog writes the keys of the rows that endpoints are asked for to a JSON
// Lines file (`strata serve --key-log FILE`), the format `strata advise
// --key-log` reads (advisor/key_log_record.h):
//
//   {"ts":1718000000.125,"endpoint":"purchase","key":{"user_id":7,"product_id":42}}
//   {"ts":1718000000.127,"endpoint":"purchase","key_hash":"5f0c6b1e9a3d2c71","sample":0.1}
//
// Never payloads: only the endpoint's key columns. A key text longer than
// core::kMaxKeyBytes is written as its fixed-size fingerprint marker
// (core::BoundedKey), so a line is never longer than a few hundred bytes
// whatever the keys:
//
//   {"ts":1718000000.129,"endpoint":"purchase","key":"key-fingerprint:5f0c6b1e9a3d2c71..."}
//
// With a key hasher (strata serve's default: HMAC-SHA256 with
// --key-hash-secret or a per-process secret), the key is its keyed hash:
//
//   {"ts":1718000000.131,"endpoint":"purchase","key_hash":"9c1f...32 hex"}
//
// Each row is logged with probability `sample`; with `hash`, the key is
// replaced by the 64-bit fingerprint (core/fingerprint.h) of its (bounded)
// JSON text. Lines are written whole and flushed once per request.
// Thread-safe.
#ifndef STRATA_SERVING_KEY_LOG_H_
#define STRATA_SERVING_KEY_LOG_H_

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/infer_request.h"
#include "core/mutex.h"

namespace strata::serving {

// Replaces a key text by a keyed hash (features::KeyedHasher::Hash), so
// no raw key is kept.
using KeyHasher = std::function<std::string(std::string_view)>;

struct KeyLogOptions {
  std::string path;
  double sample = 1;  // share of rows logged, in (0, 1]
  bool hash = false;  // fingerprints instead of key values
  // When set (`strata serve`'s default), `key_hash` is this keyed hash of
  // the key text (32 hex digits), whatever `hash` says.
  KeyHasher key_hasher = nullptr;
};

class KeyLog {
 public:
  // Opens `path` for appending. INVALID_ARGUMENT for a sample outside (0, 1].
  static absl::StatusOr<std::unique_ptr<KeyLog>> Open(KeyLogOptions options);
  ~KeyLog();
  KeyLog(const KeyLog&) = delete;
  KeyLog& operator=(const KeyLog&) = delete;

  // Logs the sampled rows of `request` by the tensors named `key_columns`
  // (integer or BYTES, one element per row). Requests lacking a key column
  // are not logged (they fail anyway).
  void Record(std::string_view endpoint, const std::vector<std::string>& key_columns,
              const core::InferRequest& request);

  // The same for rows whose key texts (serving/row_keys.h) are computed.
  void RecordKeys(std::string_view endpoint, const std::vector<std::string>& row_keys);

  // The lines for `request`, sampled but not written (for tests).
  std::vector<std::string> Lines(std::string_view endpoint,
                                 const std::vector<std::string>& key_columns,
                                 const core::InferRequest& request, double ts) const;

 private:
  std::vector<std::string> LinesFor(std::string_view endpoint,
                                    const std::vector<std::string>& row_keys, double ts) const;

  KeyLog(KeyLogOptions options, std::FILE* file) : options_(std::move(options)), file_(file) {}

  const KeyLogOptions options_;
  core::Mutex mutex_;  // serialises writes
  std::FILE* file_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_KEY_LOG_H_
