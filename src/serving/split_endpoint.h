// SplitEndpoint answers an endpoint whose plan is `split`: each request
// goes, whole, to one of the endpoint's arms, a model at a version or label
// or another endpoint (docs/serving.md: Split endpoints). Which arm:
//
//   x-strata-arm: NAME    a request header forces the arm (for testing);
//   sticky key            the first row's value of the `sticky_key` input
//                         column, or the `sticky_header` header, is hashed
//                         to a bucket whose range an arm owns
//                         (serving/plans/split_assignment.h): the same key
//                         always gets the same arm while weights hold;
//   otherwise             a uniformly random bucket: random by weight.
//
// A model arm answers through a dynamic plan (the model stage, no cache) on
// the arm's version; an endpoint arm through that endpoint's own plan (its
// shadow and feedback decorators are not called: the split's are), without
// the forcing header. The response names the arm and the version that answered
// (parameters `arm` and `model_version`), and each request is counted in
// strata_split_requests_total{endpoint,arm,version}, and in the arm's
// window statistics (serving/rollout/arm_window.h) that a rollout judges.
// The sticky column is passed to a model arm only when its version has an
// input of that name; an endpoint arm gets only the inputs it declares.
//
// The arms and their weights are one immutable snapshot (SplitRouting)
// behind an atomic pointer: SetArms() publishes a new one (a rollout's
// step), and each request reads one snapshot from start to end. Keys stay
// sticky across snapshots as SplitAssignment describes. Thread-safe.
#ifndef STRATA_SERVING_SPLIT_ENDPOINT_H_
#define STRATA_SERVING_SPLIT_ENDPOINT_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "serving/endpoint.h"
#include "serving/hybrid_endpoint.h"
#include "serving/plans/split_assignment.h"
#include "serving/rollout/arm_window.h"

namespace strata::serving {

// A model at a version, or (`endpoint` set; `model` and `version` empty)
// another endpoint.
struct SplitArm {
  std::string name;
  std::string model;
  std::string version;  // a number or a label; empty: the default version
  double weight = 0;
  std::string endpoint = {};
};

struct SplitEndpointConfig {
  std::string name;
  std::vector<SplitArm> arms;
  std::string sticky_key;     // an input column; empty: none
  std::string sticky_header;  // a lower-case "x-" header; empty: none
  std::string salt;           // empty: the endpoint's name
  // The endpoints arms may name, by name: each connected by the server on
  // its own (it is in the server's endpoint set).
  std::map<std::string, std::shared_ptr<Endpoint>, std::less<>> endpoints = {};
};

// What one snapshot of a split routes by: the arms, their bucket ranges,
// each arm's plan and its window statistics (all in arm order).
struct SplitRouting {
  std::vector<SplitArm> arms;
  SplitAssignment assignment;
  // Model arms: dynamic plans, no cache; endpoint arms: the endpoint.
  std::vector<std::shared_ptr<Endpoint>> plans;
  std::vector<std::shared_ptr<ArmWindow>> windows;
};

class SplitEndpoint : public Endpoint {
 public:
  // INVALID_ARGUMENT for weights SplitAssignment refuses or an arm naming an
  // endpoint not in `config.endpoints`.
  static absl::StatusOr<std::unique_ptr<SplitEndpoint>> Create(SplitEndpointConfig config);

  const std::string& name() const override { return config_.name; }
  EndpointDescription Describe() const override;
  // A version in the request is refused: the arm chooses it.
  void InferAsync(core::InferRequest request, InferCallback done) const override;
  void Connect(const PlanServices& services) override;

  // The snapshot requests route by now.
  std::shared_ptr<const SplitRouting> routing() const { return routing_.load(); }
  // Publishes `arms` (names, models, versions, weights) as the new
  // snapshot, with new (empty) window statistics; requests in flight finish
  // on the old one. INVALID_ARGUMENT for weights SplitAssignment refuses, an
  // unknown endpoint or no arm; the old snapshot then stays.
  absl::Status SetArms(std::vector<SplitArm> arms);

 private:
  explicit SplitEndpoint(SplitEndpointConfig config);

  // A snapshot of `arms`, reusing `old`'s plans for arms of the same model
  // or endpoint.
  absl::StatusOr<std::shared_ptr<const SplitRouting>> MakeRouting(std::vector<SplitArm> arms,
                                                                  const SplitRouting* old) const;
  // The plan `arm` answers through: its endpoint, or a new dynamic plan.
  absl::StatusOr<std::shared_ptr<Endpoint>> ArmPlan(const SplitArm& arm) const;
  // Why the arm does not answer (empty when it does); its version, if any,
  // goes in `versions`.
  std::string ArmReadiness(const SplitArm& arm, std::vector<int64_t>& versions) const;
  // The arm the request goes to: forced, sticky or random.
  absl::StatusOr<size_t> ChooseArm(const SplitRouting& routing,
                                   const core::InferRequest& request) const;
  // The sticky key's text: the header's value or the column's first row.
  absl::StatusOr<std::string> StickyKey(const core::InferRequest& request) const;
  // A model arm: drops the sticky column when the arm's version has no such
  // input. An endpoint arm (but a split): drops every input the endpoint
  // does not take, so one request fits arms of different inputs.
  void FitInputs(const SplitArm& arm, const Endpoint& plan, core::InferRequest& request) const;

  const SplitEndpointConfig config_;  // its arms: the first snapshot's
  std::atomic<std::shared_ptr<const SplitRouting>> routing_;
  std::mutex set_arms_;                  // one SetArms() at a time
  PlanServices arm_services_;            // set by Connect()
  ServerMetrics* metrics_ = nullptr;     // set by Connect()
  const ModelRunner* models_ = nullptr;  // set by Connect()
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_SPLIT_ENDPOINT_H_
