// The KServe v2 / Open Inference Protocol gRPC codec: pure functions between
// the protocol's protobuf messages (proto/inference.proto) and strata's
// protocol-neutral types. No I/O; thread-safe.
#ifndef STRATA_API_GRPC_CODEC_H_
#define STRATA_API_GRPC_CODEC_H_

#include <chrono>

#include "absl/status/statusor.h"
#include "api/reserved_parameters.h"
#include "core/infer_request.h"
#include "inference.pb.h"
#include "serving/endpoint.h"
#include "serving/lifecycle/version_status.h"
#include "serving/model_repository.h"
#include "serving/server_metrics.h"

namespace strata::api {

// Decodes a ModelInferRequest, model name and version included. Inputs may
// carry typed `contents` or `raw_input_contents` (one per input, in order),
// never both. Typed values are range-checked against the datatype; FP16 and
// BF16 must be raw. Raw contents must fit the shape (byte size, BYTES
// length prefixes). Parameters are checked (reserved_parameters.h) before
// anything else: those strata cannot honour (sequences, shared memory,
// unknown triton_ keys) are rejected with INVALID_ARGUMENT.
absl::StatusOr<core::InferRequest> DecodeModelInferRequest(
    const inference::ModelInferRequest& request);

// Fills `out` from `response`. Outputs always travel as
// `raw_output_contents`, which every client decodes (tritonclient decodes
// nothing else).
void EncodeModelInferResponse(const core::InferResponse& response,
                              inference::ModelInferResponse& out);

// Model metadata. Shapes carry -1 for variable dimensions. `properties`
// holds "state" (READY or UNAVAILABLE) and, when not ready, "reason".
void EncodeModelMetadata(const serving::ServedModel& model, inference::ModelMetadataResponse& out);

// The same for an endpoint with a plan (static, hybrid): platform
// "strata_<plan>", its servable versions, inputs and outputs; properties
// hold "plan", "state", "reason" when not ready, and the plan's details.
void EncodeEndpointMetadata(const serving::EndpointDescription& endpoint,
                            inference::ModelMetadataResponse& out);

// The Triton model configuration perf_analyzer reads: name, platform,
// backend, max_batch_size, inputs and outputs (dims without the batch
// dimension when the model batches), dynamic batching settings when the
// model batches requests together, and the backend parameters.
void EncodeModelConfig(const serving::ServedModel& model, inference::ModelConfig& out);

// One model version's statistics in Triton's terms (the same figures as the
// REST /stats JSON): compute_input, compute_infer and compute_output count
// each batch once, so their counts agree.
void EncodeModelStatistics(const serving::ModelStatistics& stats, inference::ModelStatistics& out);

// The repository index (every model version and its state); with
// `ready_only`, READY versions only.
void EncodeRepositoryIndex(const std::vector<serving::VersionStatus>& index, bool ready_only,
                           inference::RepositoryIndexResponse& out);

// strata serves one repository: a request that names one is INVALID_ARGUMENT.
absl::Status CheckRepositoryName(const std::string& repository_name);

// Checks a load or unload request: no repository name, a model name, and
// only parameters that CheckRepositoryParameter accepts for `action`
// (INVALID_ARGUMENT names the one strata does not support rather than
// ignoring it).
absl::Status CheckRepositoryRequest(
    RepositoryAction action, const std::string& repository_name, const std::string& model_name,
    const google::protobuf::Map<std::string, inference::ModelRepositoryParameter>& parameters);

// Sets the request's "timeout" parameter (microseconds, as the serving core
// reads it) to what remains at `now` of a call whose deadline is
// `deadline`, keeping a shorter timeout the client set itself. Does nothing
// for an infinite deadline; DEADLINE_EXCEEDED when it has already passed.
absl::Status ApplyDeadline(std::chrono::system_clock::time_point deadline,
                           std::chrono::system_clock::time_point now, core::InferRequest& request);

}  // namespace strata::api

#endif  // STRATA_API_GRPC_CODEC_H_
