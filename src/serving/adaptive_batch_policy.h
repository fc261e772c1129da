// AdaptiveBatchPolicy tunes a model's batch size and queue delay so that a
// request's latency (time queued plus its batch's run time) stays under a
// latency objective while batches are as large as that allows, which is
// where throughput is highest (`dynamic_batching: {latency_objective_us}`).
//
// The batch size has two caps, and the queue uses one of them:
// - the latency cap, without a backlog: a cost model fits each batch's run
//   time as a + b·rows (least squares, older batches weighing less), and the
//   cap is the largest n whose two runs (the batch ahead, then its own) fit
//   the planned share (80%) of the objective, no larger than Clipper's AIMD
//   limit: -10% after a batch at the cap that ran over its share, +1 after
//   one within it. Like Clipper it judges the batch's run time, and only a
//   batch at the cap: a smaller one that ran long met a busy machine.
// - the throughput cap, under a backlog (more rows queued than the latency
//   cap): the largest n whose one run fits the planned share, taken at once
//   (no delay). The rows a smaller batch would leave behind would pay
//   another batch's fixed cost, so one larger batch ends them all sooner.
//   When not even a one-row batch ahead and one of its own fit (the latency
//   cap's rule), the objective is out of reach and the cap is
//   max_batch_size: the largest batches drain a queue the fastest.
// Admission: a request whose predicted latency (the running batch's rest,
// the batches of the throughput cap for the rows queued ahead of it and its
// own, lengthened by the rows expected to join it, plus the queue delay)
// exceeds the objective is refused at once (RESOURCE_EXHAUSTED, HTTP 429).
// The planned share sizes the batches; admission uses the whole objective:
// at 80% it refused 1% of requests that a fixed 1 ms delay served well
// within it. A request that would run at once (nothing queued, an instance
// free) is always admitted, and so is one that would run in the next round
// of batches when the objective is out of reach. Without shedding, a closed loop of c clients on
// a model that does t requests per second waits c / t by Little's law,
// whatever the batch size.
// The queue delay adapts to the arrival rate: the time the rows of the
// smallest batch that keeps up with the arrivals (running at most 80% of the
// time) are expected to take to arrive, but no longer than what the
// objective leaves after two runs, and zero when not even one more request
// is expected in time (a lone request is not held back for nothing).
//
// Like BatchQueue it has no clock and no threads: the caller passes `now`
// and what it observed, so tests drive it with a simulated clock. Not
// thread-safe; DynamicBatcher calls it under its queue's mutex.
#ifndef STRATA_SERVING_ADAPTIVE_BATCH_POLICY_H_
#define STRATA_SERVING_ADAPTIVE_BATCH_POLICY_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace strata::serving {

struct AdaptiveBatchOptions {
  std::chrono::nanoseconds latency_objective{0};  // > 0
  int64_t max_batch_size = 1;                     // the model's; never exceeded
  int instances = 1;                              // batches that run at once
};

// What the queue uses now.
struct BatchLimits {
  int64_t max_batch_size = 1;
  std::chrono::nanoseconds max_queue_delay{0};
};

// One batch as it ran: its rows, how long it took to run, and how long its
// oldest request had waited in the queue.
struct BatchObservation {
  int64_t rows = 1;
  std::chrono::nanoseconds run{0};
  std::chrono::nanoseconds oldest_wait{0};
};

// Whether a request may join the queue, and the latency predicted for it.
struct Admission {
  bool admit = true;
  std::chrono::nanoseconds predicted{0};  // 0 before the first batch
};

class AdaptiveBatchPolicy {
 public:
  using Clock = std::chrono::steady_clock;

  explicit AdaptiveBatchPolicy(AdaptiveBatchOptions options);

  // Whether a request of `rows` rows arriving at `now` is predicted to meet
  // the objective. Admits everything until the first batch has run, and a
  // request that would run at once (nothing queued, an instance free).
  Admission Admit(Clock::time_point now, int64_t rows) const;
  // A request of `rows` rows joined the queue at `now`.
  void OnArrival(Clock::time_point now, int64_t rows);
  // A batch of `rows` rows left the queue to run at `now`.
  void OnStart(Clock::time_point now, int64_t rows);
  // Queued requests of `rows` rows in all left without running (expired).
  void OnExpired(int64_t rows);
  // A batch finished; updates the cost model, the AIMD limit and the limits.
  void OnBatch(const BatchObservation& batch);

  BatchLimits limits() const { return limits_; }
  // The fitted run time of a batch of `rows` (nullopt before any batch).
  std::optional<std::chrono::nanoseconds> PredictedRun(int64_t rows) const;
  // The AIMD limit on the batch size.
  int64_t aimd_limit() const { return aimd_limit_; }
  // The batch size under a backlog (see throughput_cap_).
  int64_t throughput_cap() const { return throughput_cap_; }
  // Rows admitted and not yet started.
  int64_t queued_rows() const { return queued_rows_; }

 private:
  // The fitted run time of a batch: fixed + per_row·rows (ns).
  struct CostFit {
    double fixed = 0, per_row = 0;
  };
  std::optional<CostFit> Fit() const;
  // The smallest batch (at most `rows`) that keeps up with the arrivals.
  // REQUIRES: the fit exists.
  int64_t RowsToKeepUp(int64_t rows) const;
  // Clipper's AIMD on the batch size limit, judged by a batch's run time.
  void Aimd(int64_t rows, double run_ns);
  void Recompute();
  // The run time one batch may take: its share of the objective.
  double BatchBudgetNs() const;
  // The largest batch predicted to run within `budget_ns` (0: not even one
  // row). REQUIRES: the fit exists.
  int64_t LargestWithin(double budget_ns) const;
  std::chrono::nanoseconds DelayFor(int64_t rows) const;
  // How long until an instance is free to start the next batch.
  double FreeInNs(Clock::time_point now) const;

  const AdaptiveBatchOptions options_;
  // Weighted sums of the least-squares fit of run time (ns) on rows.
  double s0_ = 0, sn_ = 0, snn_ = 0, sc_ = 0, snc_ = 0;
  // Mean time between arriving rows (ns), weighted toward recent arrivals.
  double row_gap_ns_ = 0;
  std::optional<Clock::time_point> last_arrival_;
  int64_t aimd_limit_;  // starts at max_batch_size
  // The batch size without a backlog: two batches' run within the planned
  // share of the objective (a request may wait for the batch ahead), and no
  // larger than the AIMD limit.
  int64_t latency_cap_ = 1;
  // The batch size under a backlog: one batch's run within the planned share
  // (max_batch_size when the objective is out of reach).
  int64_t throughput_cap_ = 1;
  // Not even two one-row runs fit the planned share of the objective.
  bool out_of_reach_ = false;
  int64_t queued_rows_ = 0;
  // When the running batches are predicted to end, earliest first; a
  // finished batch removes the earliest (batches started earlier end first).
  std::vector<Clock::time_point> running_ends_;
  BatchLimits limits_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_ADAPTIVE_BATCH_POLICY_H_
