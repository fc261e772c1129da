// Parses a model's `config.yaml` into a runtime::ModelConfig and checks it,
// naming the field and the fix for anything wrong. Pure functions;
// thread-safe.
//
//   backend: xgboost              # required: a registered backend
//   max_batch_size: 1024          # optional, default 0 (no batch dimension)
//   inputs:                       # required, at least one
//     - {name: features, datatype: FP32, shape: [-1, 30]}
//   outputs:                      # required, at least one
//     - {name: probability, datatype: FP32, shape: [-1]}
//     # label_filename: labels.txt  # optional: class labels, one per line,
//     #                             # for the classification extension
//   parameters: {threads: 1}      # optional backend options (scalars)
//   instances: 2                  # batches run at once (default: cores)
//   max_queue_size: 1024          # queued requests before 429 (default 1024)
//   default_timeout_us: 0         # deadline when a request sets none
//   dynamic_batching:             # optional; absent: no merging
//     max_queue_delay_us: 200     # longest wait for a fuller batch
//     preferred_batch_sizes: [8]  # run at once when one of these is reached
//   version_policy: {latest: 1}   # or {specific: [1, 3]} or all
//   version_labels: {stable: 3}   # names usable wherever a version is
//   default_version: 3            # pin unversioned calls (default: newest)
//   warmup: {samples: samples.json}  # or {generate: zeros|random, count: N}
//   memory_strategy: availability # or resource (unload old before loading)
//   version_marker: READY         # load a version only once this file exists
#ifndef STRATA_SERVING_MODEL_CONFIG_PARSER_H_
#define STRATA_SERVING_MODEL_CONFIG_PARSER_H_

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/model_config.h"

namespace strata::serving {

// `name` is the model's directory name; it becomes config.name.
absl::StatusOr<runtime::ModelConfig> ParseModelConfig(std::string_view yaml,
                                                      const std::string& name);

// Reads and parses `path`, and the labels files its outputs name (beside
// it); errors name the file.
absl::StatusOr<runtime::ModelConfig> LoadModelConfig(const std::filesystem::path& path,
                                                     const std::string& name);

}  // namespace strata::serving

#endif  // STRATA_SERVING_MODEL_CONFIG_PARSER_H_
