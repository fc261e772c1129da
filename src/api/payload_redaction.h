// RedactionPolicy says what a payload log line (api/payload_log.h) may hold
// of a request's inputs and a response's outputs, per field (tensor name):
// `keep` its values, `hash` each element (a keyed hash: HMAC-SHA256 with the
// key hash secret, of the element's text: a number's decimal text, a BYTES
// element's bytes), or `drop` it (only its name is listed). A field the
// policy does not name is dropped. Read from YAML (docs/security.md):
//
//   inputs:
//     age: keep
//     user_id: hash
//   outputs:
//     score: keep
//
// RedactTensors writes the fields a policy lets through as JSON. Pure
// functions and value types; thread-safe.
#ifndef STRATA_API_PAYLOAD_REDACTION_H_
#define STRATA_API_PAYLOAD_REDACTION_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"

namespace strata::api {

enum class FieldAction { kDrop, kHash, kKeep };

std::string_view FieldActionName(FieldAction action);

using FieldActions = std::map<std::string, FieldAction, std::less<>>;

struct RedactionPolicy {
  FieldActions inputs;
  FieldActions outputs;
};

// The action for `name`: kDrop when the policy does not name it.
FieldAction ActionOf(const FieldActions& actions, std::string_view name);

// INVALID_ARGUMENT naming the field whose action is not drop, hash or keep.
absl::StatusOr<RedactionPolicy> ParseRedactionPolicy(std::string_view yaml_text);

// A keyed hash of one element's text (features::KeyedHasher::Hash).
using FieldHasher = std::function<std::string(std::string_view)>;

// At most this many elements of a field are written; a longer one is marked
// "truncated":true, so that a line stays bounded whatever the payload.
inline constexpr size_t kMaxLoggedElements = 1024;

// What RedactTensors wrote: the JSON object of the fields let through, and
// the names of the dropped ones.
struct RedactedFields {
  std::string json = "{}";  // {"age":{"datatype":"INT64","shape":[2],"data":[31,42]},...}
  std::vector<std::string> dropped = {};
};

// `tensors` redacted by `actions`: a kept field's values under "data", a
// hashed field's element hashes under "hash".
RedactedFields RedactTensors(const std::vector<core::Tensor>& tensors, const FieldActions& actions,
                             const FieldHasher& hasher);

}  // namespace strata::api

#endif  // STRATA_API_PAYLOAD_REDACTION_H_
