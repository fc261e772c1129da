// The request and tensor parameters that tritonclient reserves for features
// strata does not offer: sequences, priorities, shared memory and any
// "triton_" key. Both wire codecs (JSON and gRPC) reject them rather than
// silently misread a request. A pure function; thread-safe.
#ifndef STRATA_API_RESERVED_PARAMETERS_H_
#define STRATA_API_RESERVED_PARAMETERS_H_

#include <string_view>

#include "absl/status/status.h"

namespace strata::api {

// INVALID_ARGUMENT naming `key` when strata does not support it.
absl::Status CheckParameterSupported(std::string_view key);

}  // namespace strata::api

#endif  // STRATA_API_RESERVED_PARAMETERS_H_
