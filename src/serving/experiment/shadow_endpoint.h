// ShadowEndpoint is a decorator Endpoint: it answers every call with the
// endpoint it wraps and copies a share of the calls, with the primary's
// answer, to a shadow model through a bounded ShadowQueue. A sampled call is
// copied only when its ShadowAdmission allows (the primary has spare
// capacity and the shadow is within its CPU share); otherwise it is shed,
// counted by reason, before any copy is made. The shadow runs on the queue's
// thread, one call at a time; the primary's answer is never delayed by it (a
// full queue drops the copy, counted), the request path takes no lock the
// shadow's thread holds while it works (the queue's is held only to pop), and
// the shadow's answer never reaches the client. Each copy is compared row by row
// (serving/experiment/agreement.h) and recorded per (primary, shadow) pair
// in the Experiments. A table shadow (`live_model`) recomputes, with the
// live default version of the endpoint's own model, the rows its table
// answered, measuring how stale the table is. It knows nothing of plans or
// protocols. Thread-safe.
#ifndef STRATA_SERVING_EXPERIMENT_SHADOW_ENDPOINT_H_
#define STRATA_SERVING_EXPERIMENT_SHADOW_ENDPOINT_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "serving/endpoint.h"
#include "serving/experiment/experiments.h"
#include "serving/experiment/shadow_admission.h"
#include "serving/experiment/shadow_queue.h"

namespace strata::serving {

struct ShadowOptions {
  std::string model = {};    // empty with live_model
  std::string version = {};  // a number or a label; empty: the default version
  bool live_model = false;   // the endpoint's own model, on the rows its table answered
  double share = 1;          // of the calls, 0 to 1
  size_t queue = 64;         // copies waiting at most
  ShadowAdmissionOptions admission = {};  // when a sampled call is copied
};

class ShadowEndpoint : public Endpoint {
 public:
  // `experiments` must have the endpoint (Experiments::Add) and outlive this.
  ShadowEndpoint(std::shared_ptr<Endpoint> inner, ShadowOptions options,
                 std::shared_ptr<Experiments> experiments);

  const std::string& name() const override { return inner_->name(); }
  EndpointDescription Describe() const override { return inner_->Describe(); }
  void InferAsync(core::InferRequest request, InferCallback done) const override;
  // Also hands the Experiments the server's metrics registry.
  void Connect(const PlanServices& services) override;
  // Stops the shadow's thread (the call it runs finishes first).
  void Disconnect() override;
  std::vector<std::string> key_columns() const override { return inner_->key_columns(); }

  // What the shadow is called in metrics: "model@version".
  const std::string& shadow_label() const { return label_; }

 private:
  bool Sampled() const;
  // A copy of `request` when admission allows, else null (the shed counted).
  std::shared_ptr<core::InferRequest> Admit(size_t in_flight,
                                            const core::InferRequest& request) const;
  // Queues the shadow's call of `copy` against `primary`, or counts the drop.
  void Offer(std::shared_ptr<core::InferRequest> copy, const core::InferResponse& primary) const;
  // The shadow's call of `request` and its comparison with `primary`; on
  // the queue's thread.
  void RunShadow(core::InferRequest request, const core::InferResponse& primary) const;
  absl::StatusOr<core::InferResponse> CallShadow(core::InferRequest request) const;

  const std::shared_ptr<Endpoint> inner_;
  const ShadowOptions options_;
  const std::shared_ptr<Experiments> experiments_;
  const std::string label_;
  ShadowCounters* const counters_;            // alive as long as experiments_
  const ModelRunner* models_ = nullptr;       // set by Connect()
  mutable std::atomic<size_t> in_flight_{0};  // the endpoint's calls not yet answered
  mutable ShadowAdmission admission_;         // Charge()d on the queue's thread only
  mutable ShadowQueue queue_;
};

// The rows a table answered in a plan's response: those whose `layer` is
// "table" (hybrid plans) or whose `found` is true (static plans); nullopt
// when the response has neither output.
std::optional<std::vector<size_t>> TableRows(const core::InferResponse& response);

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXPERIMENT_SHADOW_ENDPOINT_H_
