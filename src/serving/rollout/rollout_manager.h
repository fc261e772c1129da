// RolloutManager drives the rollouts of the server's split endpoints: on a
// timer it asks RolloutJudge about each running rollout's current step and
// carries the decision out on the endpoint (SplitEndpoint::SetArms: the
// candidate is the `canary` arm, the `stable` arm keeps its version; once
// the rollout is over only the `stable` arm is left). A candidate first waits to be loaded and
// ready (at most the spec's load timeout: then it is rolled back) and passes the pre-traffic check
// before any traffic. Every change is an event in the log and in the rollout's state file
// (serving/rollout/rollout_state.h); at start the manager reads the state files back and resumes:
// the step is kept, its window and its elapsed time restart. Thread-safe; one timer thread of its
// own once Run() is called.
#ifndef STRATA_SERVING_ROLLOUT_ROLLOUT_MANAGER_H_
#define STRATA_SERVING_ROLLOUT_ROLLOUT_MANAGER_H_

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/mutex.h"
#include "serving/lifecycle/time_source.h"
#include "serving/rollout/quality_source.h"
#include "serving/rollout/rollout_control.h"
#include "serving/split_endpoint.h"

namespace strata::serving {

// OK when the candidate may take traffic; else why not.
using CandidateCheck = std::function<absl::Status(const RolloutCandidate&)>;

struct RolloutManagerOptions {
  std::filesystem::path state_dir;  // where the state files are
  std::chrono::milliseconds tick{1000};
  // OK once the candidate version is loaded and ready (polled until the
  // spec's load timeout). Required.
  CandidateCheck ready;
  // The pre-traffic check, run once the candidate is ready; empty: none
  // beyond `ready`.
  CandidateCheck check;
  // Each arm's quality for the quality gate; null: NoQualitySource.
  std::shared_ptr<const QualitySource> quality;
  TimeSource* time = nullptr;  // null: the steady clock
};

class RolloutManager : public RolloutControl {
 public:
  static constexpr std::string_view kStableArm = "stable";
  static constexpr std::string_view kCanaryArm = "canary";
  static constexpr std::string_view kDefaultSteps = "5:60s:200,25:60s:500,50:60s:1000,100";

  // Reads the state files of `options.state_dir` and puts each endpoint's
  // arms back as its rollout left them. A state file that does not parse
  // fails the start (it names the file).
  static absl::StatusOr<std::unique_ptr<RolloutManager>> Create(
      RolloutManagerOptions options, std::vector<std::shared_ptr<SplitEndpoint>> endpoints);
  ~RolloutManager() override;

  // Starts the timer thread: Tick() every options.tick.
  void Run();
  // One pass over the active rollouts (the timer's work; tests call it).
  void Tick();

  absl::StatusOr<RolloutView> Start(const RolloutRequest& request) override;
  absl::StatusOr<RolloutView> Status(const std::string& endpoint) const override;
  absl::StatusOr<RolloutView> Act(const std::string& endpoint, RolloutAction action) override;
  std::vector<RolloutView> List() const override;
  std::vector<prometheus::MetricFamily> CollectMetrics() const override;

 private:
  struct Entry {
    RolloutState state;
    std::shared_ptr<SplitEndpoint> endpoint;
    TimeSource::Clock::time_point since;  // of the step, or of the wait for the candidate
    std::optional<Judgement> last;
    int64_t rollbacks = 0;
  };

  RolloutManager(RolloutManagerOptions options,
                 std::map<std::string, std::shared_ptr<SplitEndpoint>> endpoints);

  // Takes the state files' rollouts over.
  absl::Status Resume(std::vector<RolloutState> states);
  absl::StatusOr<RolloutState> NewState(const RolloutRequest& request,
                                        const SplitEndpoint& endpoint) const;
  // True once the candidate is ready (the check is next); rolls back after
  // the load timeout.
  bool TickPending(Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The check's outcome: failed, or step 1.
  void FinishCheck(Entry& entry, const absl::Status& check) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void TickRunning(Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Moves to `status`, records `what`, puts the
  // arms as the state says and writes the state file.
  void Change(Entry& entry, RolloutStatus status, std::string what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // A new step (or wait): its window's clock starts now.
  void BeginStep(Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The step's window of both arms.
  RolloutWindow ReadWindow(const Entry& entry) const;
  RolloutView View(const Entry& entry) const;
  void Loop();
  int64_t WallMs() const;

  const RolloutManagerOptions options_;
  const std::map<std::string, std::shared_ptr<SplitEndpoint>> endpoints_;
  TimeSource& time_;
  mutable core::Mutex mutex_;
  std::map<std::string, Entry> rollouts_ ABSL_GUARDED_BY(mutex_);
  core::Mutex stop_mutex_;
  core::CondVar stop_cv_;
  bool stopping_ ABSL_GUARDED_BY(stop_mutex_) = false;
  std::thread timer_;
};

// The arms of `endpoint`'s routing with `state` applied. On a step
// (running, paused): the stable and canary arms' versions and weights (the
// canary arm added when missing). Over (promoted, rolled back, aborted):
// the stable arm alone at 100%, the candidate when promoted; the canary
// arm is removed. nullopt for a state that leaves the arms as they are
// (pending, failed).
std::optional<std::vector<SplitArm>> RolloutArms(const RolloutState& state,
                                                 const std::vector<SplitArm>& current);

}  // namespace strata::serving

#endif  // STRATA_SERVING_ROLLOUT_ROLLOUT_MANAGER_H_
