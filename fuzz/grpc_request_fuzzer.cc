// Fuzzes the gRPC ModelInferRequest decoder on serialized protobuf bytes,
// as they arrive on the wire.
#include <cstddef>
#include <cstdint>

#include "api/grpc_codec.h"
#include "google/protobuf/stubs/logging.h"
#include "round_trip.h"

// Invalid UTF-8 in string fields is a parse failure, which protobuf also
// logs; millions of such lines would drown the fuzzer's own report.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  inference::ModelInferRequest message;
  if (!message.ParseFromArray(data, static_cast<int>(size))) return 0;
  absl::StatusOr<strata::core::InferRequest> request =
      strata::api::DecodeModelInferRequest(message);
  if (request.ok()) strata::fuzz::RoundTrip(*request);
  return 0;
}
