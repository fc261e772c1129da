#include "runtime/dense/dense_kernels.h"

#include <algorithm>
#include <cmath>

// One clone per instruction set; glibc's ifunc resolver picks at load.
#define STRATA_DENSE_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

namespace strata::runtime::dense {
namespace {

// Output columns summed at once: their partial sums stay in registers while
// the input columns stream by (4 AVX-512 or 8 AVX2 registers).
constexpr int64_t kTile = 64;

}  // namespace

STRATA_DENSE_CLONES
void LinearRows(const LinearWeights& linear, int64_t rows, const float* in, float* out) {
  const int64_t n_in = linear.in, n_out = linear.out;
  const float* weights = linear.weights.data();
  const float* bias = linear.bias.empty() ? nullptr : linear.bias.data();
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = in + r * n_in;
    float* y = out + r * n_out;
    for (int64_t j0 = 0; j0 < n_out; j0 += kTile) {
      float sum[kTile] = {};
      const float* column = weights + j0;
      if (n_out - j0 >= kTile) {
        for (int64_t k = 0; k < n_in; ++k) {
          for (int64_t j = 0; j < kTile; ++j) sum[j] += x[k] * column[k * n_out + j];
        }
      } else {
        const int64_t width = n_out - j0;
        for (int64_t k = 0; k < n_in; ++k) {
          for (int64_t j = 0; j < width; ++j) sum[j] += x[k] * column[k * n_out + j];
        }
      }
      const int64_t width = std::min(kTile, n_out - j0);
      for (int64_t j = 0; j < width; ++j) {
        y[j0 + j] = bias == nullptr ? sum[j] : sum[j] + bias[j0 + j];
      }
    }
  }
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
