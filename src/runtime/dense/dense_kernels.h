// The dense engine's arithmetic on row-major float matrices: pure functions,
// thread-safe, no allocation. The linear layer is compiled for AVX-512,
// AVX2 and baseline x86-64; the loader picks the clone for the CPU it runs on.
// Sums run in input-column order, so answers differ from a BLAS's (which
// blocks and reorders the sum) by rounding only.
#ifndef STRATA_RUNTIME_DENSE_DENSE_KERNELS_H_
#define STRATA_RUNTIME_DENSE_DENSE_KERNELS_H_

#include <cstdint>
#include <span>

#include "runtime/dense/dense_network.h"

namespace strata::runtime::dense {

// out[r] = in[r] · linear.weights (+ linear.bias), for `rows` rows of
// linear.in columns. REQUIRES: `out` holds rows * linear.out floats and does
// not overlap `in`.
void LinearRows(const LinearWeights& linear, int64_t rows, const float* in, float* out);

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
