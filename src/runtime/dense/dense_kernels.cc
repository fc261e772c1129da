#include "runtime/dense/dense_kernels.h"

#include <algorithm>
#include <cmath>

namespace strata::runtime::dense {
namespace {

// Sixteen floats, read and written unaligned through a may_alias type; GCC
// lowers the arithmetic to one AVX-512, two AVX2 or four SSE registers.
using Vec = float __attribute__((vector_size(64), aligned(4), may_alias));
constexpr int64_t kLanes = 16;

#define STRATA_VEC(p) (*reinterpret_cast<const Vec*>(p))
#define STRATA_VEC_OUT(p) (*reinterpret_cast<Vec*>(p))
#define STRATA_INLINE inline __attribute__((always_inline))

// Columns [j0, j0 + 16 C) of R rows: R * C partial sums stay in registers
// (independent chains, so the multiply-adds overlap) while the input
// columns stream by, each weight vector loaded once for R rows. Row r's
// sums go to y + r * y_stride.
template <int R, int C>
STRATA_INLINE void SumTile(const PackedLinear& linear, const float* x, int64_t j0, float* y,
                           int64_t y_stride) {
  const int64_t n_in = linear.in, stride = linear.stride;
  const float* w = linear.weights.data() + j0;
  Vec sum[R][C];
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) sum[r][c] = Vec{};
  }
  for (int64_t k = 0; k < n_in; ++k) {
    Vec weights[C];
    for (int c = 0; c < C; ++c) weights[c] = STRATA_VEC(w + k * stride + c * kLanes);
    for (int r = 0; r < R; ++r) {
      const float xk = x[r * n_in + k];
      for (int c = 0; c < C; ++c) sum[r][c] += xk * weights[c];
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) {
      sum[r][c] += STRATA_VEC(linear.bias.data() + j0 + c * kLanes);
      STRATA_VEC_OUT(y + r * y_stride + c * kLanes) = sum[r][c];
    }
  }
}

// All columns of R rows: tiles of 16 C, then of 16; the last, partial tile
// runs over the zero padding into a buffer, and its real columns are kept.
template <int R, int C>
STRATA_INLINE void SumRows(const PackedLinear& linear, const float* x, float* y) {
  const int64_t out = linear.out;
  int64_t j0 = 0;
  for (; j0 + C * kLanes <= out; j0 += C * kLanes) SumTile<R, C>(linear, x, j0, y + j0, out);
  for (; j0 + kLanes <= out; j0 += kLanes) SumTile<R, 1>(linear, x, j0, y + j0, out);
  if (j0 == out) return;
  float tail[R * kLanes];
  SumTile<R, 1>(linear, x, j0, tail, kLanes);
  for (int r = 0; r < R; ++r) {
    for (int64_t j = j0; j < out; ++j) y[r * out + j] = tail[r * kLanes + j - j0];
  }
}

// Blocks of R rows (tiles of 16 C columns), then single rows (tiles of 16 S).
template <int R, int C, int S>
STRATA_INLINE void Linear(const PackedLinear& linear, int64_t rows, const float* in, float* out) {
  int64_t r = 0;
  for (; r + R <= rows; r += R) SumRows<R, C>(linear, in + r * linear.in, out + r * linear.out);
  for (; r < rows; ++r) SumRows<1, S>(linear, in + r * linear.in, out + r * linear.out);
}

// AVX-512 has 32 registers: 4 rows x 2 vectors of sums, 4 vectors for one
// row. AVX2 and SSE split a vector over 2 and 4 registers of their 16.
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"))) void LinearAvx512(
    const PackedLinear& linear, int64_t rows, const float* in, float* out) {
  Linear<4, 2, 4>(linear, rows, in, out);
}

__attribute__((target("avx2,fma"))) void LinearAvx2(const PackedLinear& linear, int64_t rows,
                                                    const float* in, float* out) {
  Linear<2, 2, 4>(linear, rows, in, out);
}

void LinearPortable(const PackedLinear& linear, int64_t rows, const float* in, float* out) {
  Linear<1, 2, 2>(linear, rows, in, out);
}

using LinearKernel = void (*)(const PackedLinear&, int64_t, const float*, float*);

LinearKernel PickLinearKernel() {
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")) {
    return &LinearAvx512;
  }
  return avx2 ? &LinearAvx2 : &LinearPortable;
}

}  // namespace

PackedLinear Pack(const LinearWeights& linear) {
  PackedLinear packed;
  packed.in = linear.in;
  packed.out = linear.out;
  packed.stride = (linear.out + kLanes - 1) / kLanes * kLanes;
  packed.weights.assign(static_cast<size_t>(packed.in * packed.stride), 0.0f);
  for (int64_t k = 0; k < linear.in; ++k) {
    std::copy_n(linear.weights.begin() + k * linear.out, linear.out,
                packed.weights.begin() + k * packed.stride);
  }
  packed.bias.assign(static_cast<size_t>(packed.stride), 0.0f);
  std::copy(linear.bias.begin(), linear.bias.end(), packed.bias.begin());
  return packed;
}

void LinearRows(const PackedLinear& linear, int64_t rows, const float* in, float* out) {
  static const LinearKernel kernel = PickLinearKernel();
  kernel(linear, rows, in, out);
}

void AddBiasRows(std::span<const float> bias, int64_t rows, const float* in, float* out) {
  const auto width = static_cast<int64_t>(bias.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < width; ++j) out[r * width + j] = in[r * width + j] + bias[j];
  }
}

void AddElements(int64_t count, const float* in, const float* other, float* out) {
  for (int64_t i = 0; i < count; ++i) out[i] = in[i] + other[i];
}

void ReluElements(int64_t count, const float* in, float* out) {
  for (int64_t i = 0; i < count; ++i) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void SigmoidElements(int64_t count, const float* in, float* out) {
  for (int64_t i = 0; i < count; ++i) out[i] = 1.0f / (1.0f + std::exp(-in[i]));
}

void TanhElements(int64_t count, const float* in, float* out) {
  for (int64_t i = 0; i < count; ++i) out[i] = std::tanh(in[i]);
}

void SoftmaxRows(int64_t rows, int64_t width, const float* in, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = in + r * width;
    float* y = out + r * width;
    const float top = *std::max_element(x, x + width);
    float total = 0.0f;
    for (int64_t j = 0; j < width; ++j) {
      y[j] = std::exp(x[j] - top);
      total += y[j];
    }
    for (int64_t j = 0; j < width; ++j) y[j] /= total;
  }
}

void LogSoftmaxRows(int64_t rows, int64_t width, const float* in, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = in + r * width;
    float* y = out + r * width;
    const float top = *std::max_element(x, x + width);
    float total = 0.0f;
    for (int64_t j = 0; j < width; ++j) total += std::exp(x[j] - top);
    const float log_total = std::log(total);
    for (int64_t j = 0; j < width; ++j) y[j] = (x[j] - top) - log_total;
  }
}

}  // namespace strata::runtime::dense
