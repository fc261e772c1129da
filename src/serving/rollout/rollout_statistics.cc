#include "serving/rollout/rollout_statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace strata::serving {

double TwoProportionZ(int64_t candidate_errors, int64_t candidate_requests, int64_t stable_errors,
                      int64_t stable_requests) {
  if (candidate_requests <= 0 || stable_requests <= 0) return 0;
  const double nc = static_cast<double>(candidate_requests);
  const double ns = static_cast<double>(stable_requests);
  const double pc = static_cast<double>(candidate_errors) / nc;
  const double ps = static_cast<double>(stable_errors) / ns;
  const double pooled = static_cast<double>(candidate_errors + stable_errors) / (nc + ns);
  const double variance = pooled * (1 - pooled) * (1 / nc + 1 / ns);
  if (variance <= 0) return 0;
  return (pc - ps) / std::sqrt(variance);
}

double MannWhitneyZ(std::span<const double> candidate, std::span<const double> stable) {
  const size_t nc = candidate.size();
  const size_t ns = stable.size();
  if (nc == 0 || ns == 0) return 0;
  // (value, is candidate), sorted; ties share their average rank.
  std::vector<std::pair<double, bool>> all;
  all.reserve(nc + ns);
  for (double v : candidate) all.emplace_back(v, true);
  for (double v : stable) all.emplace_back(v, false);
  std::sort(all.begin(), all.end());
  double candidate_ranks = 0;
  double ties = 0;  // sum of t^3 - t over groups of t equal values
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    const double t = static_cast<double>(j - i);
    ties += t * t * t - t;
    for (size_t k = i; k < j; ++k) candidate_ranks += all[k].second ? rank : 0;
    i = j;
  }
  const double n1 = static_cast<double>(nc);
  const double n2 = static_cast<double>(ns);
  const double n = n1 + n2;
  const double u = candidate_ranks - n1 * (n1 + 1) / 2;
  const double variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)));
  if (variance <= 0) return 0;
  return (u - n1 * n2 / 2) / std::sqrt(variance);
}

double WelchZ(const QualityStats& candidate, const QualityStats& stable) {
  if (candidate.count <= 0 || stable.count <= 0) return 0;
  const double se = std::sqrt(candidate.variance / static_cast<double>(candidate.count) +
                              stable.variance / static_cast<double>(stable.count));
  const double diff = candidate.mean_loss - stable.mean_loss;
  if (se <= 0) {
    if (diff == 0) return 0;
    return diff > 0 ? std::numeric_limits<double>::infinity()
                    : -std::numeric_limits<double>::infinity();
  }
  return diff / se;
}

double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  const double rank = std::ceil(q * static_cast<double>(values.size()));
  const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index),
                   values.end());
  return values[index];
}

}  // namespace strata::serving
