// InferRequest and InferResponse are the protocol-neutral form of one
// inference call: frontends translate their wire format into these, and
// nothing inward of a frontend sees a wire format. Value types.
#ifndef STRATA_CORE_INFER_REQUEST_H_
#define STRATA_CORE_INFER_REQUEST_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/tensor.h"

namespace strata::core {

// A request or tensor parameter: the protocol allows bool, integer, double
// and string values.
using ParameterValue = std::variant<bool, int64_t, double, std::string>;
using Parameters = std::map<std::string, ParameterValue, std::less<>>;

struct RequestedOutput {
  std::string name;
  Parameters parameters;
};

struct InferRequest {
  std::string model_name;
  std::string model_version;  // empty: the server's default version
  std::string id;             // echoed in the response
  bool has_id = false;        // the request carried an id, even an empty one
  Parameters parameters;
  std::vector<Tensor> inputs;
  std::vector<RequestedOutput> outputs;  // empty: every output
  // The request's application headers (names starting "x-", lower case):
  // REST headers or gRPC metadata. A split endpoint reads its sticky key
  // and the forced arm here.
  std::vector<std::pair<std::string, std::string>> headers = {};
};

struct InferResponse {
  std::string model_name;
  std::string model_version;
  std::string id;
  bool has_id = false;  // echo `id` even when it is empty
  Parameters parameters;
  std::vector<Tensor> outputs;
};

}  // namespace strata::core

#endif  // STRATA_CORE_INFER_REQUEST_H_
