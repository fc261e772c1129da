// Model is one loaded model version as a backend presents it: plain buffers,
// datatypes and shapes in, the same out. Framework types never cross this
// interface. Implementations must be safe for concurrent calls to Run().
#ifndef STRATA_RUNTIME_MODEL_H_
#define STRATA_RUNTIME_MODEL_H_

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"

namespace strata::runtime {

class Model {
 public:
  virtual ~Model() = default;

  // Runs one batch. REQUIRES: `inputs` are in the order of the config's
  // inputs and each matches its declared datatype and shape. Returns one
  // tensor per declared output, in declared order.
  virtual absl::StatusOr<std::vector<core::Tensor>> Run(std::span<const core::Tensor> inputs) = 0;

  struct RunOptions {
    // A request still queued at this time is answered DEADLINE_EXCEEDED
    // instead of run; one already running completes.
    std::optional<std::chrono::steady_clock::time_point> deadline;
  };
  using RunCallback = std::function<void(absl::StatusOr<std::vector<core::Tensor>>)>;

  // Runs `inputs` and calls `done` exactly once, on any thread. The default
  // runs inline; decorators such as the dynamic batcher queue the request.
  virtual void RunAsync(std::vector<core::Tensor> inputs, RunOptions options, RunCallback done) {
    (void)options;
    done(Run(inputs));
  }
};

}  // namespace strata::runtime

#endif  // STRATA_RUNTIME_MODEL_H_
