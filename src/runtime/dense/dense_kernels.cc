#include "runtime/dense/dense_kernels.h"

#include <algorithm>
#include <cmath>

namespace strata::runtime::dense {
namespace {

// L floats, read and written unaligned through a may_alias type: 16 for
// AVX-512, 8 for AVX2, 4 for SSE, one register each.
// (A typedef in a class template: GCC drops attributes on alias templates.)
template <int L>
struct VecOf {
  typedef float Type __attribute__((vector_size(L * sizeof(float)), aligned(4), may_alias));
};
template <int L>
using Vec = typename VecOf<L>::Type;
constexpr int64_t kPad = 16;  // PackedLinear's stride is a multiple of every L

#define STRATA_VEC(V, p) (*reinterpret_cast<const V*>(p))
#define STRATA_VEC_OUT(V, p) (*reinterpret_cast<V*>(p))
#define STRATA_INLINE inline __attribute__((always_inline))

// Columns [j0, j0 + L C) of R rows: R * C partial sums stay in registers
// (independent chains, so the multiply-adds overlap) while the input
// columns stream by, each weight vector loaded once for R rows. Row r's
// sums go to y + r * y_stride.
template <int L, int R, int C>
STRATA_INLINE void SumTile(const PackedLinear& linear, const float* x, int64_t j0, float* y,
                           int64_t y_stride) {
  using V = Vec<L>;
  const int64_t n_in = linear.in, stride = linear.stride;
  const float* w = linear.weights.data() + j0;
  V sum[R][C];
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) sum[r][c] = V{};
  }
  for (int64_t k = 0; k < n_in; ++k) {
    V weights[C];
    for (int c = 0; c < C; ++c) weights[c] = STRATA_VEC(V, w + k * stride + c * L);
    for (int r = 0; r < R; ++r) {
      const float xk = x[r * n_in + k];
      for (int c = 0; c < C; ++c) sum[r][c] += xk * weights[c];
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) {
      sum[r][c] += STRATA_VEC(V, linear.bias.data() + j0 + c * L);
      STRATA_VEC_OUT(V, y + r * y_stride + c * L) = sum[r][c];
    }
  }
}

// All columns of R rows: tiles of L C, then of L; the last, partial tile
// runs over the zero padding into a buffer, and its real columns are kept.
template <int L, int R, int C>
STRATA_INLINE void SumRows(const PackedLinear& linear, const float* x, float* y) {
  const int64_t out = linear.out;
  int64_t j0 = 0;
  for (; j0 + C * L <= out; j0 += C * L) SumTile<L, R, C>(linear, x, j0, y + j0, out);
  for (; j0 + L <= out; j0 += L) SumTile<L, R, 1>(linear, x, j0, y + j0, out);
  if (j0 == out) return;
  float tail[R * L];
  SumTile<L, R, 1>(linear, x, j0, tail, L);
  for (int r = 0; r < R; ++r) {
    for (int64_t j = j0; j < out; ++j) y[r * out + j] = tail[r * L + j - j0];
  }
}

// Blocks of R rows (tiles of L C columns), then single rows (tiles of L S).
template <int L, int R, int C, int S>
STRATA_INLINE void Linear(const PackedLinear& linear, int64_t rows, const float* in, float* out) {
  int64_t r = 0;
  for (; r + R <= rows; r += R) SumRows<L, R, C>(linear, in + r * linear.in, out + r * linear.out);
  for (; r < rows; ++r) SumRows<L, 1, S>(linear, in + r * linear.in, out + r * linear.out);
}

// 8 chains of sums on AVX-512 (of its 32 registers) and AVX2 (of 16); 4 on SSE.
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"))) void LinearAvx512(
    const PackedLinear& linear, int64_t rows, const float* in, float* out) {
  Linear<16, 4, 2, 4>(linear, rows, in, out);
}

__attribute__((target("avx2,fma"))) void LinearAvx2(const PackedLinear& linear, int64_t rows,
                                                    const float* in, float* out) {
  Linear<8, 4, 2, 8>(linear, rows, in, out);
}

void LinearPortable(const PackedLinear& linear, int64_t rows, const float* in, float* out) {
  Linear<4, 2, 2, 4>(linear, rows, in, out);
}

bool CpuSupportsAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

bool CpuSupportsAvx512() {
  return CpuSupportsAvx2() && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq");
}

}  // namespace

PackedLinear Pack(const LinearWeights& linear) {
  PackedLinear packed;
  packed.in = linear.in;
  packed.out = linear.out;
  packed.stride = (linear.out + kPad - 1) / kPad * kPad;
  packed.weights.assign(static_cast<size_t>(packed.in * packed.stride), 0.0f);
  for (int64_t k = 0; k < linear.in; ++k) {
    std::copy_n(linear.weights.begin() + k * linear.out, linear.out,
                packed.weights.begin() + k * packed.stride);
  }
  packed.bias.assign(static_cast<size_t>(packed.stride), 0.0f);
  std::copy(linear.bias.begin(), linear.bias.end(), packed.bias.begin());
  return packed;
}

bool CpuSupports(LinearKernel kernel) {
  switch (kernel) {
    case LinearKernel::kAvx512:
      return CpuSupportsAvx512();
    case LinearKernel::kAvx2:
      return CpuSupportsAvx2();
    case LinearKernel::kPortable:
      return true;
  }
  return false;
}

LinearKernel WidestLinearKernel() {
  static const LinearKernel widest = CpuSupportsAvx512() ? LinearKernel::kAvx512
                                     : CpuSupportsAvx2() ? LinearKernel::kAvx2
                                                         : LinearKernel::kPortable;
  return widest;
}

void LinearRowsWith(LinearKernel kernel, const PackedLinear& linear, int64_t rows, const float* in,
                    float* out) {
  switch (kernel) {
    case LinearKernel::kAvx512:
      return LinearAvx512(linear, rows, in, out);
    case LinearKernel::kAvx2:
      return LinearAvx2(linear, rows, in, out);
    case LinearKernel::kPortable:
      return LinearPortable(linear, rows, in, out);
  }
}

void LinearRows(const PackedLinear& linear, int64_t rows, const float* in, float* out) {
  LinearRowsWith(WidestLinearKernel(), linear, rows, in, out);
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
