#include "serving/adaptive_batch_policy.h"

#include <algorithm>
#include <cmath>

namespace strata::serving {
namespace {

using std::chrono::nanoseconds;

// Each batch's weight in the fit decays by this much per later batch, so
// the fit follows a model whose cost changes (another model loads, the
// machine gets busy) within some tens of batches.
constexpr double kFitDecay = 0.95;
// The least variance of the batch sizes (rows², weighted) that fits a
// slope: below it the recent batches had about one size, and two size
// groups of which one is stale would fix the slope for ever (a least-squares
// line passes through both, whatever their weights).
constexpr double kMinRowVariance = 1.0;
// The weight of the newest gap between arrivals in their running mean.
constexpr double kGapWeight = 1.0 / 16;
// Clipper's multiplicative backoff: a batch over its budget cuts the limit
// by 10% (at least one row), so one slow batch on a busy machine does not
// throw away the batch size that was found.
constexpr double kBackoff = 0.9;
// The share of the objective the batch sizes and the queue delay plan for;
// the rest is left for what the batcher does not see (the frontend,
// scheduling noise). Admission uses the whole objective.
constexpr double kPlannedShare = 0.8;
// The share of its time the batcher may be busy at the batch size the queue
// delay waits for: the rest absorbs bursts.
constexpr double kKeepUpShare = 0.8;
// Under load a request waits for the batch ahead of it, then runs in its
// own: about two batches' run time.
constexpr double kBatchesPerLatency = 2.0;

}  // namespace

AdaptiveBatchPolicy::AdaptiveBatchPolicy(AdaptiveBatchOptions options)
    : options_(options), aimd_limit_(std::max<int64_t>(1, options.max_batch_size)) {
  Recompute();
}

void AdaptiveBatchPolicy::OnArrival(Clock::time_point now, int64_t rows) {
  if (last_arrival_) {
    const double gap = static_cast<double>(nanoseconds(now - *last_arrival_).count()) /
                       static_cast<double>(std::max<int64_t>(1, rows));
    row_gap_ns_ = row_gap_ns_ == 0 ? gap : row_gap_ns_ + kGapWeight * (gap - row_gap_ns_);
  }
  last_arrival_ = now;
  queued_rows_ += rows;
  Recompute();
}

void AdaptiveBatchPolicy::OnStart(Clock::time_point now, int64_t rows) {
  queued_rows_ = std::max<int64_t>(0, queued_rows_ - rows);
  const std::optional<nanoseconds> run = PredictedRun(rows);
  running_ends_.insert(std::upper_bound(running_ends_.begin(), running_ends_.end(),
                                        now + run.value_or(nanoseconds(0))),
                       now + run.value_or(nanoseconds(0)));
  Recompute();
}

void AdaptiveBatchPolicy::OnExpired(int64_t rows) {
  queued_rows_ = std::max<int64_t>(0, queued_rows_ - rows);
  Recompute();
}

double AdaptiveBatchPolicy::FreeInNs(Clock::time_point now) const {
  if (static_cast<int>(running_ends_.size()) < std::max(1, options_.instances)) return 0;
  return std::max(0.0, static_cast<double>(nanoseconds(running_ends_.front() - now).count()));
}

Admission AdaptiveBatchPolicy::Admit(Clock::time_point now, int64_t rows) const {
  if (s0_ == 0) return {};
  // One that would run at once is admitted whatever its prediction: refusing
  // it helps no one, and runs keep the cost model current (a fit spoiled by
  // one slow warm-up batch would otherwise refuse every request for ever).
  const bool runs_at_once =
      queued_rows_ == 0 && static_cast<int>(running_ends_.size()) < std::max(1, options_.instances);
  if (runs_at_once) return {true, *PredictedRun(std::max<int64_t>(1, rows))};
  // The rows ahead and this request's run in batches of the throughput cap
  // (the queue's size under a backlog), `instances` batches at a time, after
  // the first instance frees up. The rows expected to arrive by then join
  // its batch and lengthen its run (up to the cap).
  const int64_t size = throughput_cap_;
  const int64_t ahead = queued_rows_ + std::max<int64_t>(1, rows);
  const int64_t batches = (ahead + size - 1) / size;
  const int64_t instances = std::max(1, options_.instances);
  const int64_t rounds = (batches + instances - 1) / instances;
  const double free_in = FreeInNs(now);
  const int64_t joining = row_gap_ns_ > 0 ? static_cast<int64_t>(free_in / row_gap_ns_) : 0;
  double predicted =
      free_in + static_cast<double>(rounds) *
                    static_cast<double>(PredictedRun(std::min(ahead + joining, size))->count());
  if (ahead < latency_cap_) predicted += static_cast<double>(limits_.max_queue_delay.count());
  const auto ns = nanoseconds(static_cast<int64_t>(predicted));
  // No feedback inflates the predictions: one that made admission stricter
  // after batches slower than planned (up to 8x, then 1.5x) refused 97%
  // (85%) of requests at 64 connections and a 10 ms objective on a quiet
  // 2-core machine, for a third (1.5x) of no batching's goodput.
  // Out of reach (not even two one-row runs fit the objective's share), every
  // request misses it, and refusing all that queue leaves batches of one (98%
  // refused, a twentieth of a fixed delay's goodput on a starved machine):
  // what would run in the next round of batches is admitted.
  if (out_of_reach_ && rounds <= 1) return {true, ns};
  return {predicted <= static_cast<double>(options_.latency_objective.count()), ns};
}

void AdaptiveBatchPolicy::OnBatch(const BatchObservation& batch) {
  if (!running_ends_.empty()) running_ends_.erase(running_ends_.begin());
  const double n = static_cast<double>(std::max<int64_t>(1, batch.rows));
  const double cost = static_cast<double>(batch.run.count());
  s0_ = kFitDecay * s0_ + 1;
  sn_ = kFitDecay * sn_ + n;
  snn_ = kFitDecay * snn_ + n * n;
  sc_ = kFitDecay * sc_ + cost;
  snc_ = kFitDecay * snc_ + n * cost;
  Aimd(batch.rows, cost);
  Recompute();
}

void AdaptiveBatchPolicy::Aimd(int64_t rows, double run_ns) {
  // Only a batch at the latency cap says something about it: a smaller one
  // that ran long met a busy machine (the cost fit absorbs that), and cutting
  // the limit from its size ratcheted the limit down to a few rows.
  // A batch over it ran for a backlog at the throughput cap: the cost fit
  // judges those.
  const int64_t limit = latency_cap_;
  if (rows != limit) return;
  if (run_ns > BatchBudgetNs()) {
    aimd_limit_ = std::max<int64_t>(1, std::min(limit - 1, static_cast<int64_t>(limit * kBackoff)));
  } else if (aimd_limit_ <= limit) {
    aimd_limit_ = std::min(options_.max_batch_size, aimd_limit_ + 1);
  }
}

std::optional<AdaptiveBatchPolicy::CostFit> AdaptiveBatchPolicy::Fit() const {
  if (s0_ == 0) return std::nullopt;
  CostFit fit{0, sc_ / sn_};  // proportional: the batches had about one size
  const double spread = s0_ * snn_ - sn_ * sn_;
  if (spread > kMinRowVariance * s0_ * s0_) {
    const double slope = (s0_ * snc_ - sn_ * sc_) / spread;
    if (slope > 0) fit = {std::max(0.0, (sc_ - slope * sn_) / s0_), slope};
  }
  return fit;
}

std::optional<nanoseconds> AdaptiveBatchPolicy::PredictedRun(int64_t rows) const {
  const std::optional<CostFit> fit = Fit();
  if (!fit) return std::nullopt;
  return nanoseconds(
      static_cast<int64_t>(std::llround(fit->fixed + fit->per_row * static_cast<double>(rows))));
}

double AdaptiveBatchPolicy::BatchBudgetNs() const {
  return kPlannedShare * static_cast<double>(options_.latency_objective.count()) /
         kBatchesPerLatency;
}

int64_t AdaptiveBatchPolicy::LargestWithin(double budget_ns) const {
  if (static_cast<double>(PredictedRun(1)->count()) > budget_ns) return 0;
  int64_t low = 1, high = options_.max_batch_size;
  while (low < high) {  // the run time grows with the rows: bisect
    const int64_t mid = low + (high - low + 1) / 2;
    if (static_cast<double>(PredictedRun(mid)->count()) <= budget_ns) {
      low = mid;
    } else {
      high = mid - 1;
    }
  }
  return low;
}

int64_t AdaptiveBatchPolicy::RowsToKeepUp(int64_t rows) const {
  // n rows arrive in n·gap and run in fixed + per_row·n: the batcher keeps
  // up (at kKeepUpShare busy) from n = fixed / (share·gap - per_row).
  const std::optional<CostFit> fit = Fit();
  const double spare = kKeepUpShare * row_gap_ns_ - fit->per_row;
  if (spare <= 0) return rows;  // not even the largest batch keeps up
  return std::clamp<int64_t>(static_cast<int64_t>(std::ceil(fit->fixed / spare)), 1, rows);
}

nanoseconds AdaptiveBatchPolicy::DelayFor(int64_t rows) const {
  const std::optional<nanoseconds> run = PredictedRun(rows);
  if (!run || row_gap_ns_ <= 0 || rows <= 1) return nanoseconds(0);
  const double left = kPlannedShare * static_cast<double>(options_.latency_objective.count()) -
                      kBatchesPerLatency * static_cast<double>(run->count());
  if (row_gap_ns_ > left) return nanoseconds(0);  // no more rows expected in time
  // Wait only for the rows the arrival rate needs in a batch, not a full one:
  // at a low rate a longer wait spends the objective and gains nothing.
  const double fill = row_gap_ns_ * static_cast<double>(RowsToKeepUp(rows) - 1);
  return nanoseconds(static_cast<int64_t>(std::min(fill, left)));
}

void AdaptiveBatchPolicy::Recompute() {
  const int64_t most = std::max<int64_t>(1, options_.max_batch_size);
  if (s0_ == 0) {
    latency_cap_ = throughput_cap_ = most;
  } else {
    const int64_t fitting = LargestWithin(BatchBudgetNs());
    latency_cap_ = std::clamp<int64_t>(std::min(fitting, aimd_limit_), 1, most);
    // Not even a one-row batch ahead and one of its own fit the objective's
    // share: it is out of reach, and the largest batches drain a queue the
    // fastest. (Judging one run instead flipped between rounds on a starved
    // machine, one row at 5-12 ms for 10 ms: 4% or 67-86% refused.)
    const int64_t within =
        LargestWithin(kPlannedShare * static_cast<double>(options_.latency_objective.count()));
    out_of_reach_ = fitting == 0;
    throughput_cap_ = std::max(latency_cap_, out_of_reach_ ? most : within);
  }
  // A backlog of more than a batch at the latency cap: the rows left behind
  // would wait for another batch's fixed cost, so all run in one batch up to
  // the throughput cap, at once (the rows are there; waiting spends the
  // objective).
  if (queued_rows_ > latency_cap_) {
    limits_ = {throughput_cap_, nanoseconds(0)};
  } else {
    limits_ = {latency_cap_, DelayFor(latency_cap_)};
  }
}

}  // namespace strata::serving
