// JSON for endpoints with a plan of their own (serving/endpoint.h): the
// KServe v2 model metadata and model ready bodies, so that clients treat an
// endpoint like a model, plus strata's "plan" and "properties". Pure
// functions; thread-safe.
#ifndef STRATA_API_ENDPOINT_JSON_H_
#define STRATA_API_ENDPOINT_JSON_H_

#include <string>

#include "serving/endpoint.h"

namespace strata::api {

// `$metadata_model_response` (name, versions, platform "strata_<plan>",
// inputs, outputs) plus "plan", "state", "reason" when not ready, and
// "properties" (for a static plan: table, table_version, model,
// model_version, store).
std::string EncodeEndpointMetadata(const serving::EndpointDescription& endpoint);

// {"name": ..., "ready": ...} plus "reason" and "error" when not ready.
std::string EncodeEndpointReady(const serving::EndpointDescription& endpoint);

}  // namespace strata::api

#endif  // STRATA_API_ENDPOINT_JSON_H_
