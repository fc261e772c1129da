// Fuzz-target helper: feeds a decoded request back through the response
// encoders, as the server would after running an identity model, so that
// the fuzzers reach the encoders with every tensor the decoders accept.
// Test-only; thread-compatible.
#ifndef STRATA_FUZZ_ROUND_TRIP_H_
#define STRATA_FUZZ_ROUND_TRIP_H_

#include <cstdlib>

#include "api/binary_tensor_codec.h"
#include "api/grpc_codec.h"
#include "core/infer_request.h"
#include "core/tensor.h"

namespace strata::fuzz {

inline void RoundTrip(const core::InferRequest& request) {
  core::InferResponse response;
  response.model_name = request.model_name;
  response.id = request.id;
  for (const core::Tensor& input : request.inputs) {
    // The core answers only for inputs that pass validation.
    if (core::ValidateTensorData(input).ok()) response.outputs.push_back(input);
  }
  const api::EncodedInferResponse encoded =
      api::EncodeBinaryInferResponse(response, api::BinaryOutputSelection::Of(request));
  if (encoded.json_size > encoded.body.size()) std::abort();
  inference::ModelInferResponse grpc_response;
  api::EncodeModelInferResponse(response, grpc_response);
  if (grpc_response.raw_output_contents_size() != static_cast<int>(response.outputs.size())) {
    std::abort();
  }
}

}  // namespace strata::fuzz

#endif  // STRATA_FUZZ_ROUND_TRIP_H_
