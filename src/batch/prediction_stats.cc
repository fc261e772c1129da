#include "batch/prediction_stats.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace strata::batch {
namespace {

using core::DataType;

constexpr size_t kMaxClasses = 1000;

double ElementAt(DataType dtype, const char* p) {
  return core::VisitDataType(dtype, [&](auto tag) -> double {
    using Tag = decltype(tag);
    using T = typename Tag::Element;
    if constexpr (Tag::kIsInteger || Tag::kIsFloat || Tag::kIsBool) {
      T v;
      std::memcpy(&v, p, sizeof v);
      return static_cast<double>(v);
    } else {
      return std::nan("");  // FP16/BF16 are not summarised
    }
  });
}

bool IsIntegral(DataType dtype) {
  return dtype != DataType::kFp32 && dtype != DataType::kFp64 && dtype != DataType::kFp16 &&
         dtype != DataType::kBf16;
}

uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

PredictionStats::PredictionStats(std::vector<store::OutputColumn> outputs, size_t sample_size)
    : outputs_(std::move(outputs)), sample_size_(sample_size), accumulators_(outputs_.size()) {}

void PredictionStats::Add(uint64_t row_hash, std::string_view value) {
  const char* p = value.data();
  for (size_t o = 0; o < outputs_.size(); ++o) {
    const store::OutputColumn& column = outputs_[o];
    Accumulator& acc = accumulators_[o];
    const size_t size = core::ElementSize(column.dtype);
    const size_t elements = column.ElementsPerRow();
    for (size_t e = 0; e < elements; ++e, p += size) {
      const double v = ElementAt(column.dtype, p);
      if (std::isnan(v)) {
        ++acc.nan;
        continue;
      }
      if (std::isinf(v)) {
        ++acc.inf;
        continue;
      }
      if (acc.count == 0 || v < acc.min) acc.min = v;
      if (acc.count == 0 || v > acc.max) acc.max = v;
      ++acc.count;
      acc.sum += v;
      if (IsIntegral(column.dtype) && !acc.classes_overflow) {
        ++acc.classes[static_cast<int64_t>(v)];
        if (acc.classes.size() > kMaxClasses) {
          acc.classes.clear();
          acc.classes_overflow = true;
        }
      }
      const uint64_t h = Mix(row_hash + e);
      if (acc.sample.size() < sample_size_) {
        acc.sample.emplace(h, v);
      } else if (h < acc.sample.top().first) {
        acc.sample.pop();
        acc.sample.emplace(h, v);
      }
    }
  }
}

std::vector<double> PredictionStats::SortedSample(size_t output) const {
  auto copy = accumulators_[output].sample;
  std::vector<double> values;
  values.reserve(copy.size());
  while (!copy.empty()) {
    values.push_back(copy.top().second);
    copy.pop();
  }
  std::sort(values.begin(), values.end());
  return values;
}

std::vector<store::OutputStats> PredictionStats::Finish() const {
  std::vector<store::OutputStats> result;
  for (size_t o = 0; o < outputs_.size(); ++o) {
    const Accumulator& acc = accumulators_[o];
    store::OutputStats s;
    s.name = outputs_[o].name;
    s.count = acc.count;
    s.nan = acc.nan;
    s.inf = acc.inf;
    s.min = acc.min;
    s.max = acc.max;
    s.mean = acc.count ? static_cast<double>(acc.sum / acc.count) : 0;
    s.classes = acc.classes;
    const std::vector<double> sample = SortedSample(o);
    if (!sample.empty()) {
      // Decile edges without repeats (ties collapse bins), and the share of
      // this sample in each bin.
      for (int b = 1; b < 10; ++b) {
        const double edge = sample[(sample.size() - 1) * b / 10];
        if (s.psi_edges.empty() || edge > s.psi_edges.back()) s.psi_edges.push_back(edge);
      }
      s.psi_fractions = BinFractions(sample, s.psi_edges);
      for (double q : store::kReportedQuantiles) {
        double v = sample[static_cast<size_t>(std::llround(q * (sample.size() - 1)))];
        if (q == 0.0) v = acc.min;
        if (q == 1.0) v = acc.max;
        s.quantiles.emplace_back(q, v);
      }
    }
    result.push_back(std::move(s));
  }
  return result;
}

std::vector<double> PredictionStats::BinFractions(const std::vector<double>& sorted,
                                                  const std::vector<double>& edges) {
  std::vector<double> fractions(edges.size() + 1, 0);
  for (double v : sorted) {
    fractions[std::lower_bound(edges.begin(), edges.end(), v) - edges.begin()] += 1;
  }
  for (double& f : fractions) f /= sorted.empty() ? 1 : sorted.size();
  return fractions;
}

std::optional<double> PredictionStats::Psi(const store::OutputStats& previous) const {
  if (outputs_.empty() || previous.psi_fractions.size() != previous.psi_edges.size() + 1 ||
      previous.psi_edges.empty()) {
    return std::nullopt;
  }
  const std::vector<double> sample = SortedSample(0);
  if (sample.empty()) return std::nullopt;
  // The previous version's bins and shares against this sample's shares.
  const std::vector<double> actual = BinFractions(sample, previous.psi_edges);
  double psi = 0;
  constexpr double kFloor = 1e-4;
  for (size_t b = 0; b < actual.size(); ++b) {
    const double a = std::max(actual[b], kFloor);
    const double e = std::max(previous.psi_fractions[b], kFloor);
    psi += (a - e) * std::log(a / e);
  }
  return psi;
}

}  // namespace strata::batch
