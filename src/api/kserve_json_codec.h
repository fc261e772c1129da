// The KServe v2 / Open Inference Protocol JSON codec: pure functions between
// HTTP bodies and strata's protocol-neutral types. No I/O; thread-safe.
#ifndef STRATA_API_KSERVE_JSON_CODEC_H_
#define STRATA_API_KSERVE_JSON_CODEC_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/infer_request.h"
#include "serving/model_repository.h"

namespace strata::api {

// Decodes an inference request body (`$inference_request`). Data may be
// flat or nested; every datatype is parsed or rejected with a message that
// names the tensor and the fix; FP32 and FP64 data also take the strings
// "NaN", "Infinity" and "-Infinity", and a number beyond FP32's range is
// refused rather than turned into infinity. Reserved parameters are checked
// (reserved_parameters.h). Element counts are checked later, against
// the shape, by the serving core. The model name and version come from the
// URL and are not set here.
// `binary` holds the blobs of the binary tensor extension that follow the
// JSON (see binary_tensor_codec.h): an input with a `binary_data_size`
// parameter takes that many bytes from its front, in input order, and every
// byte must be claimed. Blobs are checked against their shape here.
absl::StatusOr<core::InferRequest> DecodeInferRequest(std::string_view body,
                                                      std::string_view binary = {});

// Encodes `$inference_response` with flat, row-major data. The request's
// id is echoed when it had one, even an empty one. Non-finite FP16, BF16,
// FP32 and FP64 values, which JSON has no literal for, are written as the
// strings "NaN", "Infinity" and "-Infinity" (strict JSON; numpy and
// tritonclient read them back as numbers). An output whose
// `binary_outputs` flag is set gets a `binary_data_size` parameter instead
// of "data"; the caller appends its blob after the JSON.
std::string EncodeInferResponse(const core::InferResponse& response,
                                const std::vector<bool>& binary_outputs = {});

// `$metadata_server_response`.
std::string EncodeServerMetadata(const std::string& name, const std::string& version,
                                 const std::vector<std::string>& extensions);

// `$metadata_model_response`, plus strata's "state" and, when the model is
// not ready, "reason".
std::string EncodeModelMetadata(const serving::ServedModel& model);

// {"name": ..., "ready": ...} plus, when not ready, "reason" and an
// "error" as every other failing call has.
std::string EncodeModelReady(const serving::ServedModel& model);

// {"ready": false, "error": why}: the body of a 503 from /v2/health/ready.
std::string EncodeServerNotReady(std::string_view why);

// {"error": message}
std::string EncodeError(std::string_view message);

}  // namespace strata::api

#endif  // STRATA_API_KSERVE_JSON_CODEC_H_
