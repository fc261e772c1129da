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
  // An output's class labels, by class index: the lines of the file its
  // `label_filename` names (relative to the model's directory), read with
  // the config. The classification extension appends them to its answers.
  std::string label_filename = {};
  std::vector<std::string> labels = {};
};

// How requests to a model are queued and run (the `dynamic_batching:`,
// `instances`, `max_queue_size` and `default_timeout_us` keys).
struct SchedulingConfig {
  bool batching = false;  // merge requests into batches
  int64_t max_queue_delay_us = 0;
  std::vector<int64_t> preferred_batch_sizes;
  // > 0: adaptive batching; the batch size and queue delay are tuned to keep
  // each request's time queued plus running under this many microseconds.
  int64_t latency_objective_us = 0;
  int instances = 1;               // batches of this model that may run at once
  int64_t max_queue_size = 1024;   // queued requests; beyond it: rejected
  int64_t default_timeout_us = 0;  // 0: no deadline unless the request sets one
};

// Which versions serve, how a new one is warmed up and swapped in (the
// `version_policy`, `version_labels`, `default_version`, `warmup`,
// `memory_strategy` and `version_marker` keys).
struct LifecycleConfig {
  enum class Policy { kLatest, kSpecific, kAll };
  Policy policy = Policy::kLatest;
  int64_t latest = 1;                                  // kLatest: how many of the newest
  std::vector<int64_t> specific;                       // kSpecific: exactly these
  std::map<std::string, int64_t, std::less<>> labels;  // e.g. stable: 3
  int64_t default_version = 0;                         // pinned default; 0: the newest ready
  // Warm-up before a version takes traffic: requests from a samples file in
  // the version directory, or generated inputs ("zeros" or "random").
  std::string warmup_samples;   // file name, e.g. samples.json
  std::string warmup_generate;  // "", "zeros" or "random"
  int64_t warmup_count = 1;     // generated requests (batch of 1 each)
  // true: load the new version, then unload the old (needs room for two);
  // false: unload the old first (the model is unavailable in between).
  bool availability_preserving = true;
  // When set, a version directory is complete only once it holds this file.
  std::string version_marker;
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
  LifecycleConfig lifecycle;
};

}  // namespace strata::runtime

#endif  // STRATA_RUNTIME_MODEL_CONFIG_H_
