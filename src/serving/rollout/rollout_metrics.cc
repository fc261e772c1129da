#include "serving/rollout/rollout_metrics.h"

#include <string>

namespace strata::serving {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

ClientMetric Gauge(std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  metric.gauge.value = value;
  return metric;
}

constexpr RolloutStatus kStatuses[] = {RolloutStatus::kPending,    RolloutStatus::kRunning,
                                       RolloutStatus::kPaused,     RolloutStatus::kPromoted,
                                       RolloutStatus::kRolledBack, RolloutStatus::kFailed,
                                       RolloutStatus::kAborted};

constexpr GateVerdict kVerdicts[] = {GateVerdict::kPass, GateVerdict::kFail,
                                     GateVerdict::kNotEnoughData};

void AddGates(const RolloutView& view, MetricFamily& gates) {
  if (!view.last) return;
  const std::string& endpoint = view.state.spec.endpoint;
  for (const GateResult& gate : view.last->gates) {
    for (GateVerdict verdict : kVerdicts) {
      gates.metric.push_back(Gauge({{"endpoint", endpoint},
                                    {"gate", std::string(GateName(gate.gate))},
                                    {"verdict", std::string(GateVerdictName(verdict))}},
                                   gate.verdict == verdict ? 1 : 0));
    }
  }
}

}  // namespace

std::vector<MetricFamily> RolloutMetricFamilies(const std::vector<RolloutView>& views) {
  MetricFamily state{
      "strata_rollout_state", "1 for the rollout's current state", MetricType::Gauge, {}};
  MetricFamily step{
      "strata_rollout_step", "The rollout's current step (from 1)", MetricType::Gauge, {}};
  MetricFamily weight{"strata_rollout_weight",
                      "The candidate's share of the traffic, percent",
                      MetricType::Gauge,
                      {}};
  MetricFamily gates{"strata_rollout_gate",
                     "1 for each gate's verdict at the last judgement of the current step",
                     MetricType::Gauge,
                     {}};
  MetricFamily rollbacks{"strata_rollout_rollbacks_total",
                         "Rollouts rolled back since the server started",
                         MetricType::Counter,
                         {}};
  for (const RolloutView& view : views) {
    const std::string& endpoint = view.state.spec.endpoint;
    for (RolloutStatus s : kStatuses) {
      state.metric.push_back(
          Gauge({{"endpoint", endpoint}, {"state", std::string(RolloutStatusName(s))}},
                view.state.status == s ? 1 : 0));
    }
    step.metric.push_back(
        Gauge({{"endpoint", endpoint}}, static_cast<double>(view.state.step + 1)));
    weight.metric.push_back(Gauge({{"endpoint", endpoint}}, view.weight));
    AddGates(view, gates);
    ClientMetric count;
    count.label = {{"endpoint", endpoint}};
    count.counter.value = static_cast<double>(view.rollbacks);
    rollbacks.metric.push_back(std::move(count));
  }
  return {state, step, weight, gates, rollbacks};
}

}  // namespace strata::serving
