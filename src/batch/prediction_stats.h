// PredictionStats accumulates the statistics of a batch job's predictions
// (per output: finite count, NaN and inf counts, min, max, mean, quantiles,
// and a class histogram for integer outputs) in bounded memory: quantiles
// come from a sample of fixed size chosen by hashing each row's key, so the
// same rows give the same statistics however the job was split or resumed.
// Not thread-safe.
#ifndef STRATA_BATCH_PREDICTION_STATS_H_
#define STRATA_BATCH_PREDICTION_STATS_H_

#include <cstdint>
#include <map>
#include <queue>
#include <string_view>
#include <utility>
#include <vector>

#include "store/table_manifest.h"

namespace strata::batch {

class PredictionStats {
 public:
  explicit PredictionStats(std::vector<store::OutputColumn> outputs, size_t sample_size = 20000);

  // `value` is one row's outputs (store::TableManifest layout); `row_hash`
  // a hash of its key.
  void Add(uint64_t row_hash, std::string_view value);

  std::vector<store::OutputStats> Finish() const;

  // Population stability index of the first output against the bins that
  // `previous` recorded (its psi_edges and psi_fractions); nullopt when
  // either side has no finite values.
  std::optional<double> Psi(const store::OutputStats& previous) const;

 private:
  struct Accumulator {
    int64_t count = 0, nan = 0, inf = 0;
    double min = 0, max = 0;
    long double sum = 0;
    std::map<int64_t, int64_t> classes;
    bool classes_overflow = false;
    std::priority_queue<std::pair<uint64_t, double>> sample;  // lowest hashes
  };
  std::vector<double> SortedSample(size_t output) const;
  static std::vector<double> BinFractions(const std::vector<double>& sorted,
                                          const std::vector<double>& edges);

  std::vector<store::OutputColumn> outputs_;
  size_t sample_size_;
  std::vector<Accumulator> accumulators_;
};

}  // namespace strata::batch

#endif  // STRATA_BATCH_PREDICTION_STATS_H_
