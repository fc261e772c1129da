// Writes a Triton model configuration (the ModelConfig message that
// EncodeModelConfig in grpc_codec.h fills) as the JSON of Triton's REST
// `GET /v2/models/{m}/config`: proto field names, enum names such as
// "TYPE_FP32", and numbers as JSON numbers (protobuf's own JSON printer
// quotes 64-bit integers, which Triton's clients do not expect). A pure
// function; thread-safe.
#ifndef STRATA_API_MODEL_CONFIG_JSON_H_
#define STRATA_API_MODEL_CONFIG_JSON_H_

#include <string>

#include "inference.pb.h"

namespace strata::api {

std::string ModelConfigToJson(const inference::ModelConfig& config);

}  // namespace strata::api

#endif  // STRATA_API_MODEL_CONFIG_JSON_H_
