// Fuzzes the REST binary tensor extension decoder. The input's first line is
// the Inference-Header-Content-Length value; the rest is the body (JSON
// header, then blobs).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/binary_tensor_codec.h"
#include "round_trip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  absl::StatusOr<strata::core::InferRequest> request =
      strata::api::DecodeBinaryInferRequest(input.substr(newline + 1), input.substr(0, newline));
  if (request.ok()) strata::fuzz::RoundTrip(*request);
  return 0;
}
