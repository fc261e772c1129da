// The parameters that the protocol and Triton's clients give a meaning:
// which strata honours, which it accepts because their meaning is harmless
// here, and which it refuses because it cannot honour them (sequences,
// shared memory, unknown "triton_" keys, load overrides). Both wire codecs
// (JSON and gRPC) and both model-control frontends ask these functions, so
// REST and gRPC agree. docs/protocol.md holds the decisions as a table.
// Any other key is an application parameter and is passed on unchecked.
// Pure functions; thread-safe.
#ifndef STRATA_API_RESERVED_PARAMETERS_H_
#define STRATA_API_RESERVED_PARAMETERS_H_

#include <string_view>

#include "absl/status/status.h"
#include "core/infer_request.h"

namespace strata::api {

// Where an inference parameter appears.
enum class ParameterScope { kRequest, kInput, kOutput };

// OK when strata accepts `key` with `value` in `scope`; INVALID_ARGUMENT
// naming the parameter and why otherwise.
absl::Status CheckParameter(ParameterScope scope, std::string_view key,
                            const core::ParameterValue& value);

// The model-control calls (REST /v2/repository/models/{m}/load|unload,
// gRPC RepositoryModelLoad/Unload) that take parameters.
enum class RepositoryAction { kLoad, kUnload };

// OK when strata accepts the control parameter `key` with `value`;
// INVALID_ARGUMENT naming it otherwise. Load takes none (strata reads
// configs and files from the repository, so "config" and "file:<path>"
// overrides are refused, never ignored); unload takes "unload_dependents"
// (a bool: strata models have no dependents, so both values unload the
// model alone).
absl::Status CheckRepositoryParameter(RepositoryAction action, std::string_view key,
                                      const core::ParameterValue& value);

}  // namespace strata::api

#endif  // STRATA_API_RESERVED_PARAMETERS_H_
