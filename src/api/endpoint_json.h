// JSON for endpoints with a plan of their own (serving/endpoint.h): the
// KServe v2 model metadata and model ready bodies, so that clients treat an
// endpoint like a model, plus strata's "plan" and "properties". Pure
// functions; thread-safe.
#ifndef STRATA_API_ENDPOINT_JSON_H_
#define STRATA_API_ENDPOINT_JSON_H_

#include <map>
#include <string>

#include "serving/endpoint.h"

namespace strata::api {

// The description's plan details as the text "properties" of metadata
// (JSON, protobuf, the status page): for a static plan table, store,
// table_version, model, model_version, table_rows, bytes_per_entry,
// in_memory_bytes, refused; for hybrid and dynamic plans model,
// model_version, cache_*, table, table_version, table_model, table_rows,
// bytes_per_entry, in_memory_bytes, table_reason. Only what is known is
// written.
std::map<std::string, std::string> EndpointProperties(const serving::EndpointDescription& endpoint);

// `$metadata_model_response` (name, versions, platform "strata_<plan>",
// inputs, outputs) plus "plan", "state", "reason" when not ready, and
// "properties" (for a static plan: table, table_version, model,
// model_version, store).
std::string EncodeEndpointMetadata(const serving::EndpointDescription& endpoint);

// {"name": ..., "ready": ...} plus "reason" and "error" when not ready.
std::string EncodeEndpointReady(const serving::EndpointDescription& endpoint);

}  // namespace strata::api

#endif  // STRATA_API_ENDPOINT_JSON_H_
