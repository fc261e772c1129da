// The `shadow:` and `feedback:` keys of an endpoint in the endpoints file
// (serving/endpoint_config.h), for every plan. Pure parsing; thread-safe.
#ifndef STRATA_SERVING_EXPERIMENT_CONFIG_H_
#define STRATA_SERVING_EXPERIMENT_CONFIG_H_

#include "absl/status/status.h"
#include "serving/endpoint_config.h"
#include "yaml-cpp/yaml.h"

namespace strata::serving {

// Fills config.shadow and config.feedback from `node`'s keys, when given;
// `feedback: false` clears config.feedback. INVALID_ARGUMENT naming the key
// (or YAML's complaint about a mistyped value, with its line).
absl::Status ParseExperimentKeys(const YAML::Node& node, EndpointConfig& config);

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXPERIMENT_CONFIG_H_
