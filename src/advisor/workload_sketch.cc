#include "advisor/workload_sketch.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "core/fingerprint.h"

namespace strata::advisor {
namespace {

// `keys` distinct keys of `count` requests each.
struct Group {
  double count;
  double keys;
};

constexpr int kGoodTuringLimit = 10;  // counts from here on are taken as they are

// The curve through (cumulative keys, cumulative mass / requests) of
// groups in order, evaluated on a log grid.
CoverageCurve Curve(const std::vector<Group>& groups, const std::vector<double>& mass,
                    double requests) {
  double keys = 0, covered = 0;
  std::vector<CoveragePoint> dense;
  dense.reserve(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    keys += groups[i].keys;
    covered += mass[i];
    // One point per run of equal counts keeps the curve small.
    if (i + 1 == groups.size() || groups[i + 1].count != groups[i].count) {
      dense.push_back({.keys = keys, .share = covered / requests});
    }
  }
  const CoverageCurve curve(std::move(dense));
  std::vector<CoveragePoint> points;
  for (double k : LogGrid(curve.total_keys())) {
    points.push_back({.keys = k, .share = curve.ShareAt(k)});
  }
  return CoverageCurve(std::move(points));
}

// Entropy, unseen share and both coverage curves of a distribution given
// as groups.
void Describe(std::vector<Group> groups, double requests, WorkloadStats& stats) {
  std::erase_if(groups, [](const Group& g) { return g.count <= 0 || g.keys <= 0; });
  std::sort(groups.begin(), groups.end(),
            [](const Group& a, const Group& b) { return a.count > b.count; });
  // N_r: how many keys were seen exactly r times, for small r.
  std::vector<double> seen_times(kGoodTuringLimit + 2, 0.0);
  auto small = [](double count) {
    const double r = std::round(count);
    return std::abs(count - r) < 1e-9 && r < kGoodTuringLimit ? static_cast<int>(r) : 0;
  };
  double weighted_log = 0;
  for (const Group& g : groups) {
    weighted_log += g.keys * g.count * std::log2(g.count);
    const double r = std::round(g.count);
    if (std::abs(g.count - r) < 1e-9 && r <= kGoodTuringLimit)
      seen_times[static_cast<int>(r)] += g.keys;
  }
  stats.entropy_bits = std::max(0.0, std::log2(requests) - weighted_log / requests);
  stats.unseen_share = seen_times[1] / requests;

  std::vector<double> observed, expected;
  double small_mass = 0, large_mass = 0;
  for (const Group& g : groups) {
    observed.push_back(g.keys * g.count);
    const int r = small(g.count);
    if (r > 0 && seen_times[r + 1] > 0) {
      expected.push_back(g.keys * (r + 1) * seen_times[r + 1] / seen_times[r]);
      small_mass += expected.back();
    } else {
      expected.push_back(g.keys * g.count);
      (r > 0 ? small_mass : large_mass) += expected.back();
    }
  }
  // The seen keys take 1 - unseen_share of future requests; the corrected
  // small counts absorb the difference.
  const double target = std::max(0.0, requests - seen_times[1] - large_mass);
  if (small_mass > 0) {
    for (size_t i = 0; i < groups.size(); ++i) {
      if (small(groups[i].count) > 0) expected[i] *= target / small_mass;
    }
  }
  stats.coverage = Curve(groups, observed, requests);
  stats.expected_coverage = Curve(groups, expected, requests);
}

}  // namespace

double Peakedness(double entropy_bits, double cardinality) {
  if (cardinality <= 1) return 0;
  return std::clamp(1.0 - entropy_bits / std::log2(cardinality), 0.0, 1.0);
}

WorkloadSketch::WorkloadSketch(const SketchOptions& options)
    : options_(options),
      distinct_(options.hll_precision),
      heavy_(options.heavy_hitters),
      sample_(std::max(options.sample_size, options.heavy_hitters)) {}

void WorkloadSketch::Add(std::string_view key, uint64_t weight) {
  if (key.size() > core::kMaxKeyBytes) {
    const std::string marker = core::KeyFingerprintMarker(key);
    return Add(core::Fingerprint64(marker), marker, weight);
  }
  Add(core::Fingerprint64(key), key, weight);
}

bool WorkloadSketch::SampleHeavy() {
  // splitmix64: a fresh uniform draw per key, whatever the order of keys.
  uint64_t z = (random_state_ += 0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  z ^= z >> 31;
  return z % options_.heavy_hitter_sampling == 0;
}

void WorkloadSketch::Add(uint64_t fingerprint, std::string_view key, uint64_t weight) {
  requests_ += weight;
  distinct_.Add(fingerprint);
  sample_.Add(fingerprint, weight);
  const uint32_t every = options_.heavy_hitter_sampling;
  if (every <= 1 || heavy_.size() < heavy_.capacity()) {
    heavy_.Add(fingerprint, key, weight);
  } else if (SampleHeavy()) {
    heavy_.Add(fingerprint, key, weight * every);
  }
}

WorkloadSketch::WorkloadSketch(SketchOptions options, uint64_t requests, HyperLogLog distinct,
                               SpaceSaving heavy, KeySample sample)
    : options_(options),
      requests_(requests),
      distinct_(std::move(distinct)),
      heavy_(std::move(heavy)),
      sample_(std::move(sample)) {}

void WorkloadSketch::MergeDisjoint(const WorkloadSketch& other) {
  requests_ += other.requests_;
  distinct_.Merge(other.distinct_);
  heavy_.MergeDisjoint(other.heavy_);
  sample_.Merge(other.sample_);
}

namespace {
constexpr std::string_view kMagic = "STRATA-SKETCH-1";
}  // namespace

std::string WorkloadSketch::Encode() const {
  ByteWriter out;
  out.Bytes(kMagic);
  out.U64(requests_);
  distinct_.EncodeTo(out);
  heavy_.EncodeTo(out);
  sample_.EncodeTo(out);
  return std::move(out.str());
}

absl::StatusOr<WorkloadSketch> WorkloadSketch::Decode(std::string_view bytes) {
  ByteReader in(bytes);
  std::string magic;
  uint64_t requests;
  if (!in.Bytes(magic, kMagic.size()) || magic != kMagic || !in.U64(requests)) {
    return absl::InvalidArgumentError("not a strata workload sketch");
  }
  std::optional<HyperLogLog> distinct = HyperLogLog::DecodeFrom(in);
  std::optional<SpaceSaving> heavy = distinct ? SpaceSaving::DecodeFrom(in) : std::nullopt;
  std::optional<KeySample> sample = heavy ? KeySample::DecodeFrom(in) : std::nullopt;
  if (!sample || !in.empty()) {
    return absl::InvalidArgumentError("malformed workload sketch");
  }
  SketchOptions options{.hll_precision = distinct->precision(),
                        .heavy_hitters = heavy->capacity(),
                        .sample_size = sample->capacity()};
  return WorkloadSketch(options, requests, *std::move(distinct), *std::move(heavy),
                        *std::move(sample));
}

void WorkloadSketch::Merge(const WorkloadSketch& other) {
  requests_ += other.requests_;
  distinct_.Merge(other.distinct_);
  heavy_.Merge(other.heavy_);
  sample_.Merge(other.sample_);
}

size_t WorkloadSketch::MemoryBytes() const {
  return sizeof(*this) + distinct_.MemoryBytes() + heavy_.MemoryBytes() + sample_.MemoryBytes();
}

WorkloadStats WorkloadSketch::Stats() const {
  WorkloadStats stats;
  stats.requests = requests_;
  stats.top = heavy_.Top();
  if (requests_ == 0) return stats;
  const double n = static_cast<double>(requests_);
  const std::vector<std::pair<uint64_t, uint64_t>> sampled = sample_.Counts();
  std::vector<Group> groups;

  if (sample_.complete()) {
    // Every distinct key is in the sample with its exact count.
    for (const auto& [fingerprint, count] : sampled) {
      groups.push_back({.count = static_cast<double>(count), .keys = 1});
    }
    stats.distinct_keys = static_cast<double>(sampled.size());
    stats.distinct_exact = true;
  } else {
    stats.distinct_keys = std::max(distinct_.Estimate(), static_cast<double>(sampled.size()));
    absl::flat_hash_map<uint64_t, uint64_t> exact(sampled.begin(), sampled.end());
    // Head: keys whose guaranteed count beats every unmonitored key.
    const uint64_t floor = heavy_.min_count();
    absl::flat_hash_set<uint64_t> head;
    double head_mass = 0;
    for (const HeavyHitter& h : stats.top) {
      if (h.count - h.error <= floor) continue;
      auto it = exact.find(h.fingerprint);
      const double count = it != exact.end()
                               ? static_cast<double>(it->second)
                               : static_cast<double>(h.count) - 0.5 * static_cast<double>(h.error);
      groups.push_back({.count = count, .keys = 1});
      head.insert(h.fingerprint);
      head_mass += count;
    }
    // Tail: the sampled keys outside the head, each standing for `scale`
    // keys, so that together they carry exactly the requests the head does
    // not (a ratio estimator: the sample's counts are exact).
    double tail_sampled_mass = 0;
    std::vector<double> tail;
    for (const auto& [fingerprint, count] : sampled) {
      if (head.contains(fingerprint)) continue;
      tail.push_back(static_cast<double>(count));
      tail_sampled_mass += static_cast<double>(count);
    }
    const double tail_mass = std::max(0.0, n - head_mass);
    if (tail_sampled_mass > 0 && tail_mass > 0) {
      const double scale = tail_mass / tail_sampled_mass;
      for (double count : tail) groups.push_back({.count = count, .keys = scale});
    }
  }
  Describe(std::move(groups), n, stats);
  stats.peakedness = Peakedness(stats.entropy_bits, stats.distinct_keys);
  return stats;
}

}  // namespace strata::advisor
