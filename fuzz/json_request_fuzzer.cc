// Fuzzes the REST JSON request decoder (`$inference_request` bodies).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/kserve_json_codec.h"
#include "round_trip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<strata::core::InferRequest> request = strata::api::DecodeInferRequest(body);
  if (request.ok()) strata::fuzz::RoundTrip(*request);
  return 0;
}
