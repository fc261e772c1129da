// The error-handling check's fixed set of malformed inference requests, made
// from one valid request: each must be answered 4xx (refused as the client's
// fault), never 5xx or 200. Pure; thread-safe.
#ifndef STRATA_CHECK_MALFORMED_REQUESTS_H_
#define STRATA_CHECK_MALFORMED_REQUESTS_H_

#include <string>
#include <utility>
#include <vector>

#include "check/json_tensor.h"

namespace strata::check {

struct MalformedRequest {
  std::string name;                                          // "bad_json", "wrong_datatype", ...
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type included
  std::string body;
};

// `inputs`: a valid request's inputs (at least one). The set: bad_json,
// not_an_object, empty_body, missing_input, unknown_input, wrong_datatype,
// wrong_shape, non_numeric_data, huge_shape, wrong_content_type (a text/plain
// form body, not JSON: a valid JSON body under another Content-Type is
// accepted by strata and by Triton, so it is not in the set), and
// truncated_binary (the binary tensor extension's header promises more bytes
// than follow).
std::vector<MalformedRequest> MalformedRequests(const std::vector<JsonTensor>& inputs);

}  // namespace strata::check

#endif  // STRATA_CHECK_MALFORMED_REQUESTS_H_
