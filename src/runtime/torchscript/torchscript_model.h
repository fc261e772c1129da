// TorchScriptModel is one loaded TorchScript module behind the runtime::Model
// interface. Run() is safe from many threads at once (TorchScript's
// interpreter is re-entrant for inference). LibTorch types stay inside
// torchscript_model.cc; this header does not include torch.
#ifndef STRATA_RUNTIME_TORCHSCRIPT_TORCHSCRIPT_MODEL_H_
#define STRATA_RUNTIME_TORCHSCRIPT_TORCHSCRIPT_MODEL_H_

#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/dense/dense_network.h"
#include "runtime/model.h"
#include "runtime/model_config.h"

namespace strata::runtime {

class TorchScriptModel final : public Model {
 public:
  struct Options {
    ModelConfig config;
    std::filesystem::path artifact;  // the model.pt to load
    int threads = 1;                 // LibTorch intra-op threads
  };

  // Loads the module, checks forward()'s arguments and a dry run's outputs
  // against `options.config`, and returns it ready to serve.
  static absl::StatusOr<std::unique_ptr<TorchScriptModel>> Create(Options options);

  ~TorchScriptModel() override;
  TorchScriptModel(const TorchScriptModel&) = delete;
  TorchScriptModel& operator=(const TorchScriptModel&) = delete;

  // Inputs are handed to LibTorch without a copy, except to a model found at
  // load (by alias analysis of forward(), or by the dry run) to write to its
  // inputs in place, which gets copies.
  absl::StatusOr<std::vector<core::Tensor>> Run(std::span<const core::Tensor> inputs) override;

  // The frozen forward() as a network the dense engine runs, or
  // UNIMPLEMENTED with the reason it cannot (see dense_graph_reader.h).
  absl::StatusOr<dense::DenseNetwork> AsDenseNetwork() const;

 private:
  struct State;  // the module and what Run() needs; defined in the .cc
  explicit TorchScriptModel(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
};

}  // namespace strata::runtime

#endif  // STRATA_RUNTIME_TORCHSCRIPT_TORCHSCRIPT_MODEL_H_
