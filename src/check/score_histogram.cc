#include "check/score_histogram.h"

#include <algorithm>
#include <cmath>

#include "rapidjson/document.h"

namespace strata::check {
namespace {

constexpr double kFloor = 1e-4;

absl::StatusOr<std::vector<double>> Numbers(const rapidjson::Document& doc, const char* key) {
  if (!doc.HasMember(key) || !doc[key].IsArray()) {
    return absl::InvalidArgumentError(std::string("the reference needs a \"") + key + "\" array");
  }
  std::vector<double> out;
  for (const auto& v : doc[key].GetArray()) {
    if (!v.IsNumber()) return absl::InvalidArgumentError(std::string(key) + " must be numbers");
    out.push_back(v.GetDouble());
  }
  return out;
}

absl::Status Validate(const ScoreHistogram& h) {
  if (h.fractions.size() != h.edges.size() + 1) {
    return absl::InvalidArgumentError("the reference needs one more fraction than edges");
  }
  if (!std::is_sorted(h.edges.begin(), h.edges.end())) {
    return absl::InvalidArgumentError("the reference's edges must be ascending");
  }
  double sum = 0;
  for (double f : h.fractions) {
    if (f < 0) return absl::InvalidArgumentError("the reference's fractions must be >= 0");
    sum += f;
  }
  if (std::abs(sum - 1) > 1e-3) {
    return absl::InvalidArgumentError("the reference's fractions must sum to 1");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ScoreHistogram> ParseScoreHistogram(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::InvalidArgumentError("the reference is not a JSON object");
  }
  if (!doc.HasMember("output") || !doc["output"].IsString()) {
    return absl::InvalidArgumentError("the reference needs an \"output\" name");
  }
  ScoreHistogram h;
  h.output = doc["output"].GetString();
  absl::StatusOr<std::vector<double>> edges = Numbers(doc, "edges");
  if (!edges.ok()) return edges.status();
  absl::StatusOr<std::vector<double>> fractions = Numbers(doc, "fractions");
  if (!fractions.ok()) return fractions.status();
  h.edges = *std::move(edges);
  h.fractions = *std::move(fractions);
  if (absl::Status s = Validate(h); !s.ok()) return s;
  return h;
}

size_t BinOf(const ScoreHistogram& histogram, double score) {
  return static_cast<size_t>(
      std::lower_bound(histogram.edges.begin(), histogram.edges.end(), score) -
      histogram.edges.begin());
}

absl::StatusOr<double> PopulationStabilityIndex(const ScoreHistogram& reference,
                                                std::span<const double> scores) {
  if (scores.empty()) return absl::InvalidArgumentError("no scores to compare");
  std::vector<double> counts(reference.fractions.size(), 0);
  for (double s : scores) counts[BinOf(reference, s)] += 1;
  double psi = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double a = std::max(kFloor, counts[i] / static_cast<double>(scores.size()));
    const double r = std::max(kFloor, reference.fractions[i]);
    psi += (a - r) * std::log(a / r);
  }
  return psi;
}

}  // namespace strata::check
