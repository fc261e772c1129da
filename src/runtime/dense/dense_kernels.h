// The dense engine's arithmetic on row-major float matrices: pure functions,
// thread-safe, no allocation. The linear layer is compiled for AVX-512,
// AVX2 and baseline x86-64, picked once for the CPU it runs on.
// Sums run in input-column order, so answers differ from a BLAS's (which
// blocks and reorders the sum) by rounding only.
#ifndef STRATA_RUNTIME_DENSE_DENSE_KERNELS_H_
#define STRATA_RUNTIME_DENSE_DENSE_KERNELS_H_

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/dense/dense_network.h"

namespace strata::runtime::dense {

// A linear layer laid out for LinearRows: `weights` is [in][stride] with
// stride = out rounded up to 16 and zero padding, `bias` holds stride
// floats (zeros where the layer has none), so every tile of 16 columns
// is whole.
struct PackedLinear {
  int64_t in = 0;
  int64_t out = 0;
  int64_t stride = 0;
  std::vector<float> weights;
  std::vector<float> bias;
};

PackedLinear Pack(const LinearWeights& linear);

// out[r] = in[r] · weights + bias, for `rows` rows of linear.in columns;
// each sum runs in input-column order and the bias comes last, as in
// LibTorch's matmul then add. REQUIRES: `out` holds rows * linear.out
// floats and does not overlap `in`.
void LinearRows(const PackedLinear& linear, int64_t rows, const float* in, float* out);

// The linear layer's kernels; LinearRows runs the widest the CPU supports.
enum class LinearKernel { kAvx512, kAvx2, kPortable };
bool CpuSupports(LinearKernel kernel);
LinearKernel WidestLinearKernel();
// LinearRows on a given kernel (for tests). REQUIRES: CpuSupports(kernel).
void LinearRowsWith(LinearKernel kernel, const PackedLinear& linear, int64_t rows, const float* in,
                    float* out);

// out[r] = in[r] + bias, for `rows` rows of bias.size() columns.
void AddBiasRows(std::span<const float> bias, int64_t rows, const float* in, float* out);

// Elementwise over `count` floats; `out` may equal `in` (or `other`).
void AddElements(int64_t count, const float* in, const float* other, float* out);
void ReluElements(int64_t count, const float* in, float* out);
void SigmoidElements(int64_t count, const float* in, float* out);
void TanhElements(int64_t count, const float* in, float* out);

// Softmax (or log_softmax) of each of `rows` rows of `width` columns,
// computed as torch does: shifted by the row's maximum.
void SoftmaxRows(int64_t rows, int64_t width, const float* in, float* out);
void LogSoftmaxRows(int64_t rows, int64_t width, const float* in, float* out);

}  // namespace strata::runtime::dense

#endif  // STRATA_RUNTIME_DENSE_DENSE_KERNELS_H_
