// The binary tensor data extension of the KServe v2 REST protocol
// ("binary_tensor_data", Triton's extension): a body is a JSON header,
// whose length the `Inference-Header-Content-Length` HTTP header gives,
// followed directly by raw tensor blobs (little-endian, row-major; BYTES
// elements as a 4-byte little-endian length and the bytes), in the order of
// the tensors in the JSON that carry a `binary_data_size` parameter.
// Requests may send any input this way; responses send an output this way
// when the request asks (`binary_data` per output, `binary_data_output` as
// the default). Pure functions; thread-safe.
#ifndef STRATA_API_BINARY_TENSOR_CODEC_H_
#define STRATA_API_BINARY_TENSOR_CODEC_H_

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/infer_request.h"

namespace strata::api {

// Decodes a request body whose JSON header is the first `header_length`
// bytes; `header_length` is the Inference-Header-Content-Length header's
// text. INVALID_ARGUMENT, naming the problem, when the length is not a
// number or exceeds the body, or the blob sizes do not add up.
absl::StatusOr<core::InferRequest> DecodeBinaryInferRequest(std::string_view body,
                                                            std::string_view header_length);

// Which outputs a request wants back as blobs.
struct BinaryOutputSelection {
  bool by_default = false;                           // the request's binary_data_output
  std::map<std::string, bool, std::less<>> by_name;  // each output's binary_data

  // Reads the selection from a decoded request's parameters.
  static BinaryOutputSelection Of(const core::InferRequest& request);

  // One flag per output of `response`, in order.
  std::vector<bool> Flags(const core::InferResponse& response) const;
};

struct EncodedInferResponse {
  std::string body;
  size_t json_size = 0;    // bytes of JSON at the front of `body`
  bool has_blobs = false;  // some output is binary: the reply needs
                           // Inference-Header-Content-Length
};

// Encodes `response` with the selected outputs as blobs after the JSON.
EncodedInferResponse EncodeBinaryInferResponse(const core::InferResponse& response,
                                               const BinaryOutputSelection& selection);

}  // namespace strata::api

#endif  // STRATA_API_BINARY_TENSOR_CODEC_H_
