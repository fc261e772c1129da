#include "serving/experiment/experiments.h"

#include <algorithm>

#include "core/mutex.h"
#include "fmt/format.h"
#include "serving/experiment/experiment_metrics.h"

namespace strata::serving {
namespace {

using Clock = OutcomeWindow::Clock;

std::string ParameterText(const core::InferResponse& response, std::string_view name) {
  auto it = response.parameters.find(name);
  if (it == response.parameters.end()) return "";
  if (const auto* text = std::get_if<std::string>(&it->second)) return *text;
  return "";
}

size_t BucketOf(double difference) {
  const auto* bound = std::lower_bound(std::begin(kScoreDifferenceBounds),
                                       std::end(kScoreDifferenceBounds), difference);
  return static_cast<size_t>(bound - std::begin(kScoreDifferenceBounds));
}

ShadowTraffic TrafficOf(const ShadowCounters& c) {
  ShadowTraffic t{.shadow = c.shadow,
                  .requests = c.requests.load(std::memory_order_relaxed),
                  .queue_full = c.queue_full.load(std::memory_order_relaxed),
                  .primary_busy = c.primary_busy.load(std::memory_order_relaxed),
                  .over_budget = c.over_budget.load(std::memory_order_relaxed),
                  .errors = c.errors.load(std::memory_order_relaxed)};
  t.dropped = t.queue_full + t.primary_busy + t.over_budget;
  return t;
}

}  // namespace

struct Experiments::EndpointState {
  explicit EndpointState(std::optional<FeedbackOptions> feedback)
      : options(feedback.value_or(FeedbackOptions{})),
        feedback(feedback.has_value()),
        log(options.log) {}

  // The arm and version's sums, created on first use.
  ArmOutcomes& Arm(const std::string& arm, const std::string& version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    for (ArmOutcomes& a : arms) {
      if (a.arm == arm && a.version == version) return a;
    }
    arms.push_back({.arm = arm, .version = version, .sums = {}});
    return arms.back();
  }
  LossBuckets& Window(const std::string& arm) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    auto it = windows.find(arm);
    if (it == windows.end()) {
      it = windows.emplace(arm, LossBuckets(options.log.max_age.count())).first;
    }
    return it->second;
  }

  FeedbackOptions options;
  bool feedback = false;
  mutable core::Mutex mutex;
  PredictionLog log ABSL_GUARDED_BY(mutex);
  std::vector<ArmOutcomes> arms ABSL_GUARDED_BY(mutex);
  std::map<std::string, LossBuckets, std::less<>> windows ABSL_GUARDED_BY(mutex);
  uint64_t joined ABSL_GUARDED_BY(mutex) = 0;
  uint64_t unmatched ABSL_GUARDED_BY(mutex) = 0;
  // The shadow's figures have locks of their own: the request path counts
  // copies without a lock, and the shadow's thread records agreement under
  // shadow_mutex, which no request takes, so a shadow thread preempted while
  // holding it never holds up a request (nor feedback's `mutex`).
  mutable core::Mutex traffic_mutex;
  std::vector<std::unique_ptr<ShadowCounters>> traffic ABSL_GUARDED_BY(traffic_mutex);
  mutable core::Mutex shadow_mutex;
  std::vector<ShadowPairStats> shadows ABSL_GUARDED_BY(shadow_mutex);
};

Experiments::Experiments() = default;
Experiments::~Experiments() = default;

void Experiments::Add(const std::string& endpoint, std::optional<FeedbackOptions> feedback) {
  auto it = endpoints_.find(endpoint);
  if (it != endpoints_.end() && (it->second->feedback || !feedback)) return;
  endpoints_[endpoint] = std::make_unique<EndpointState>(feedback);
}

void Experiments::AttachMetrics(prometheus::Registry& registry) {
  if (metrics_ == nullptr) metrics_ = std::make_unique<ExperimentMetrics>(registry);
}

Experiments::EndpointState* Experiments::Find(std::string_view endpoint) const {
  auto it = endpoints_.find(endpoint);
  return it == endpoints_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Experiments::Endpoints() const {
  std::vector<std::string> names;
  for (const auto& [name, state] : endpoints_) names.push_back(name);
  return names;
}

bool Experiments::HasFeedback(std::string_view endpoint) const {
  const EndpointState* state = Find(endpoint);
  return state != nullptr && state->feedback;
}

void Experiments::RecordPrediction(std::string_view endpoint, std::string_view id,
                                   const core::InferResponse& response) const {
  EndpointState* state = Find(endpoint);
  if (state == nullptr || !state->feedback || response.outputs.empty()) return;
  absl::StatusOr<ScoreMatrix> scores = ScoresOf(response.outputs.front());
  if (!scores.ok()) return;
  PredictionRecord record{.arm = ParameterText(response, "arm"),
                          .version = response.model_version,
                          .scores = *std::move(scores)};
  core::MutexLock lock(state->mutex);
  state->log.Record(id, std::move(record), Clock::now());
}

absl::Status Experiments::Join(std::string_view endpoint, const Feedback& feedback) const {
  EndpointState* state = Find(endpoint);
  if (state == nullptr || !state->feedback) {
    return absl::NotFoundError(fmt::format("endpoint '{}' does not take feedback", endpoint));
  }
  const Clock::time_point now = Clock::now();
  core::MutexLock lock(state->mutex);
  const PredictionRecord* record = state->log.Find(feedback.id, now);
  const bool row_ok = record != nullptr && (!feedback.row || *feedback.row < record->scores.rows);
  if (!row_ok) {
    ++state->unmatched;
    if (metrics_ != nullptr) metrics_->Unmatched(std::string(endpoint));
    return absl::NotFoundError(
        record == nullptr
            ? fmt::format("no prediction of endpoint '{}' with id '{}' is kept (unknown or "
                          "expired)",
                          endpoint, feedback.id.substr(0, 128))
            : fmt::format("the prediction '{}' has {} rows; there is no row {}",
                          feedback.id.substr(0, 128), record->scores.rows, *feedback.row));
  }
  ArmOutcomes& arm = state->Arm(record->arm, record->version);
  LossBuckets& window = state->Window(record->arm);
  const size_t first = feedback.row.value_or(0);
  const size_t last = feedback.row ? first + 1 : record->scores.rows;
  for (size_t r = first; r < last; ++r) {
    const std::span<const double> scores = record->scores.Row(r);
    double loss = 0;
    if (feedback.reward) {
      loss = arm.sums.AddReward(*feedback.reward);
    } else if (state->options.task == FeedbackTask::kRegression) {
      loss = arm.sums.AddRegressionLabel(scores[0], *feedback.label);
    } else {
      loss = arm.sums.AddLabel(scores, static_cast<int>(*feedback.label));
    }
    window.Add(loss, now);
  }
  ++state->joined;
  if (metrics_ != nullptr) metrics_->Joined(std::string(endpoint), arm);
  return absl::OkStatus();
}

void Experiments::RecordShadow(std::string_view endpoint, const std::string& primary,
                               const std::string& shadow,
                               const std::vector<RowAgreement>& rows) const {
  EndpointState* state = Find(endpoint);
  if (state == nullptr) return;
  {
    core::MutexLock lock(state->shadow_mutex);
    auto pair = std::find_if(state->shadows.begin(), state->shadows.end(), [&](const auto& s) {
      return s.primary == primary && s.shadow == shadow;
    });
    if (pair == state->shadows.end()) {
      pair = state->shadows.insert(state->shadows.end(), {.primary = primary, .shadow = shadow});
    }
    for (const RowAgreement& row : rows) {
      ++pair->rows;
      pair->disagreeing_rows += row.class_differs ? 1 : 0;
      pair->score_difference_sum += row.score_difference;
      ++pair->score_difference_buckets[BucketOf(row.score_difference)];
    }
  }
  if (metrics_ != nullptr) metrics_->Agreement(std::string(endpoint), primary, shadow, rows);
}

ShadowCounters* Experiments::ShadowCountersFor(std::string_view endpoint,
                                               const std::string& shadow) const {
  EndpointState* state = Find(endpoint);
  if (state == nullptr) return nullptr;
  core::MutexLock lock(state->traffic_mutex);
  for (const auto& counters : state->traffic) {
    if (counters->shadow == shadow) return counters.get();
  }
  state->traffic.push_back(std::make_unique<ShadowCounters>());
  state->traffic.back()->endpoint = std::string(endpoint);
  state->traffic.back()->shadow = shadow;
  return state->traffic.back().get();
}

void Experiments::CountShadow(ShadowCounters& counters, ShadowEvent event) const {
  std::atomic<uint64_t>& count = event == ShadowEvent::kSent          ? counters.requests
                                 : event == ShadowEvent::kQueueFull   ? counters.queue_full
                                 : event == ShadowEvent::kPrimaryBusy ? counters.primary_busy
                                 : event == ShadowEvent::kOverBudget  ? counters.over_budget
                                                                      : counters.errors;
  count.fetch_add(1, std::memory_order_relaxed);
  if (metrics_ == nullptr) return;
  std::atomic<prometheus::Counter*>& slot = counters.metric[static_cast<size_t>(event)];
  prometheus::Counter* metric = slot.load(std::memory_order_acquire);
  if (metric == nullptr) {  // two first counts may both look it up: the same counter
    metric = &metrics_->Shadow(counters.endpoint, counters.shadow, event);
    slot.store(metric, std::memory_order_release);
  }
  metric->Increment();
}

absl::StatusOr<ExperimentReport> Experiments::Report(std::string_view endpoint) const {
  const EndpointState* state = Find(endpoint);
  if (state == nullptr) {
    return absl::NotFoundError(
        fmt::format("endpoint '{}' has no experiment: neither feedback nor a shadow", endpoint));
  }
  ExperimentReport report{
      .endpoint = std::string(endpoint), .feedback = state->feedback, .task = state->options.task};
  core::MutexLock lock(state->mutex);
  report.predictions_kept = state->log.size();
  report.feedback_joined = state->joined;
  report.feedback_unmatched = state->unmatched;
  report.arms = state->arms;
  {
    core::MutexLock traffic_lock(state->traffic_mutex);
    for (const auto& c : state->traffic) report.shadow_traffic.push_back(TrafficOf(*c));
  }
  core::MutexLock shadow_lock(state->shadow_mutex);
  report.shadows = state->shadows;
  return report;
}

WindowOutcome Experiments::Since(std::string_view endpoint, std::string_view arm,
                                 Clock::time_point since) const {
  const EndpointState* state = Find(endpoint);
  if (state == nullptr) return {};
  core::MutexLock lock(state->mutex);
  auto it = state->windows.find(arm);
  return it == state->windows.end() ? WindowOutcome{} : it->second.Since(since);
}

}  // namespace strata::serving
