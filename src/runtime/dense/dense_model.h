// DenseModel serves a DenseNetwork behind the runtime::Model interface: one
// FP32 [N, K] input, one FP32 [N, W] output per network output, the steps
// run on the calling thread with no per-call setup beyond the output
// tensors. Run() is safe from many threads at once: each thread keeps its
// own scratch rows (released after a batch larger than kKeepScratchBytes).
#ifndef STRATA_RUNTIME_DENSE_DENSE_MODEL_H_
#define STRATA_RUNTIME_DENSE_DENSE_MODEL_H_

#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/dense/dense_kernels.h"
#include "runtime/dense/dense_network.h"
#include "runtime/model.h"
#include "runtime/model_config.h"

namespace strata::runtime::dense {

// How far the dense engine's answers may be from LibTorch's: per output,
// max |got - want| <= kDenseTolerance * max(1, max |want|). Not zero because
// the sums run in another order than the BLAS's (and exp, tanh are libm's,
// not LibTorch's vectorized ones); float32 rounding of a 128-term sum is
// about 1e-6 of its largest term.
inline constexpr double kDenseTolerance = 1e-5;

// max |got - want| / max(1, max |want|); equal values (infinities included)
// differ by 0, NaN against a number gives NaN. REQUIRES: same sizes.
double MaxScaledDifference(std::span<const float> want, std::span<const float> got);

class DenseModel final : public Model {
 public:
  static constexpr size_t kKeepScratchBytes = size_t{1} << 20;

  // UNIMPLEMENTED, with the reason, when the declared signature is not one
  // FP32 rank-2 input of the network's width and one FP32 output per
  // network output; INVALID_ARGUMENT for a malformed network.
  static absl::StatusOr<std::unique_ptr<DenseModel>> Create(ModelConfig config,
                                                            DenseNetwork network);

  absl::StatusOr<std::vector<core::Tensor>> Run(std::span<const core::Tensor> inputs) override;

  const DenseNetwork& network() const { return network_; }

 private:
  DenseModel(ModelConfig config, DenseNetwork network, std::vector<int64_t> widths);

  absl::Status CheckInput(std::span<const core::Tensor> inputs) const;
  // Runs step `index` over `rows` rows; `values[v]` is value v's first float.
  void RunStep(size_t index, int64_t rows, std::span<float* const> values) const;

  ModelConfig config_;
  DenseNetwork network_;
  std::vector<PackedLinear> linears_;  // network_.linears laid out for LinearRows
  std::vector<int64_t> widths_;        // columns of each value
  std::vector<int64_t> offsets_;       // each value's start in a row of scratch (value 0: unused)
  int64_t scratch_width_ = 0;          // floats of scratch per row
};

}  // namespace strata::runtime::dense

#endif  // STRATA_RUNTIME_DENSE_DENSE_MODEL_H_
