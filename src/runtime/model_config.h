// ModelConfig is the parsed form of a model's `config.yaml`: which backend
// loads it, its declared signature, and the backend's options. A value type
// with no framework or file-format types in it.
#ifndef STRATA_RUNTIME_MODEL_CONFIG_H_
#define STRATA_RUNTIME_MODEL_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/datatype.h"
#include "core/shape.h"

namespace strata::runtime {

// One declared input or output. `shape` includes the batch dimension as -1
// when the model batches.
struct TensorSpec {
  std::string name;
  core::DataType dtype = core::DataType::kFp32;
  core::Shape shape;
};

// How requests to a model are queued and run (the `dynamic_batching:`,
// `instances`, `max_queue_size` and `default_timeout_us` keys).
struct SchedulingConfig {
  bool batching = false;  // merge requests into batches
  int64_t max_queue_delay_us = 0;
  std::vector<int64_t> preferred_batch_sizes;
  int instances = 1;              // batches of this model that may run at once
  int64_t max_queue_size = 1024;  // queued requests; beyond it: rejected
  int64_t default_timeout_us = 0; // 0: no deadline unless the request sets one
};

struct ModelConfig {
  std::string name;     // the model's directory name
  std::string backend;  // "torchscript", "xgboost", ...
  // Largest batch (first dimension) one request may carry; 0 means the
  // model has no batch dimension.
  int64_t max_batch_size = 0;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  // Backend options from the `parameters:` map, as strings (e.g. threads).
  std::map<std::string, std::string, std::less<>> parameters;
  SchedulingConfig scheduling;
};

}  // namespace strata::runtime

#endif  // STRATA_RUNTIME_MODEL_CONFIG_H_
