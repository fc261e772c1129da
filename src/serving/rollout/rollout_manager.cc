#include "serving/rollout/rollout_manager.h"

#include <algorithm>

#include "fmt/format.h"
#include "serving/rollout/rollout_metrics.h"
#include "spdlog/spdlog.h"

namespace strata::serving {
namespace {

using Clock = TimeSource::Clock;

std::chrono::milliseconds Millis(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

double CandidateWeight(const RolloutState& state) {
  switch (state.status) {
    case RolloutStatus::kRunning:
    case RolloutStatus::kPaused:
      return state.spec.steps[state.step].weight;
    case RolloutStatus::kPromoted:
      return 100;
    default:
      return 0;
  }
}

// The arm named `name` of `arms`, or null.
const SplitArm* ArmNamed(const std::vector<SplitArm>& arms, std::string_view name) {
  auto it =
      std::find_if(arms.begin(), arms.end(), [&](const SplitArm& a) { return a.name == name; });
  return it == arms.end() ? nullptr : &*it;
}

}  // namespace

std::optional<std::vector<SplitArm>> RolloutArms(const RolloutState& state,
                                                 const std::vector<SplitArm>& current) {
  if (state.status == RolloutStatus::kPending || state.status == RolloutStatus::kFailed) {
    return std::nullopt;
  }
  const bool on_step =
      state.status == RolloutStatus::kRunning || state.status == RolloutStatus::kPaused;
  std::vector<SplitArm> arms = current;
  if (!on_step) {
    // Over: the canary arm goes; the stable arm is the candidate when it
    // was promoted, else the stable version. The version no arm names any
    // more is the version policy's like any other.
    std::erase_if(arms, [](const SplitArm& a) { return a.name == RolloutManager::kCanaryArm; });
  } else if (ArmNamed(arms, RolloutManager::kCanaryArm) == nullptr) {
    arms.push_back(
        {.name = std::string(RolloutManager::kCanaryArm), .model = "", .version = "", .weight = 0});
  }
  const RolloutCandidate& stable =
      state.status == RolloutStatus::kPromoted ? state.spec.candidate : state.stable;
  const double weight = on_step ? CandidateWeight(state) : 0;
  for (SplitArm& arm : arms) {
    if (arm.name == RolloutManager::kStableArm) {
      arm.model = stable.model;
      arm.version = stable.version;
      arm.weight = 100 - weight;
    } else if (arm.name == RolloutManager::kCanaryArm) {
      arm.model = state.spec.candidate.model;
      arm.version = state.spec.candidate.version;
      arm.weight = weight;
    }
  }
  return arms;
}

absl::StatusOr<std::unique_ptr<RolloutManager>> RolloutManager::Create(
    RolloutManagerOptions options, std::vector<std::shared_ptr<SplitEndpoint>> endpoints) {
  std::map<std::string, std::shared_ptr<SplitEndpoint>> by_name;
  for (std::shared_ptr<SplitEndpoint>& endpoint : endpoints) {
    by_name[endpoint->name()] = std::move(endpoint);
  }
  absl::StatusOr<std::vector<RolloutState>> states = LoadRolloutStates(options.state_dir);
  if (!states.ok()) return states.status();
  std::unique_ptr<RolloutManager> manager(
      new RolloutManager(std::move(options), std::move(by_name)));
  if (absl::Status s = manager->Resume(*std::move(states)); !s.ok()) return s;
  return manager;
}

RolloutManager::RolloutManager(RolloutManagerOptions options,
                               std::map<std::string, std::shared_ptr<SplitEndpoint>> endpoints)
    : options_(std::move(options)),
      endpoints_(std::move(endpoints)),
      time_(options_.time != nullptr ? *options_.time : RealTimeSource()) {}

RolloutManager::~RolloutManager() {
  {
    core::MutexLock lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.SignalAll();
  if (timer_.joinable()) timer_.join();
}

absl::Status RolloutManager::Resume(std::vector<RolloutState> states) {
  core::MutexLock lock(mutex_);
  for (RolloutState& state : states) {
    auto endpoint = endpoints_.find(state.spec.endpoint);
    if (endpoint == endpoints_.end()) {
      spdlog::warn("rollout state of endpoint '{}' ignored: no such split endpoint",
                   state.spec.endpoint);
      continue;
    }
    Entry& entry = rollouts_[state.spec.endpoint];
    entry = Entry{.state = std::move(state),
                  .endpoint = endpoint->second,
                  .since = time_.Now(),
                  .last = std::nullopt,
                  .rollbacks = 0};
    if (!IsActive(entry.state.status)) {
      std::optional<std::vector<SplitArm>> arms =
          RolloutArms(entry.state, entry.endpoint->routing()->arms);
      if (arms) {
        if (absl::Status s = entry.endpoint->SetArms(*arms); !s.ok()) return s;
      }
      continue;
    }
    BeginStep(entry);
    Change(entry, entry.state.status,
           fmt::format("resumed after a restart at step {} ({}); the step's window and time "
                       "restart",
                       entry.state.step + 1, RolloutStatusName(entry.state.status)));
  }
  return absl::OkStatus();
}

void RolloutManager::Run() {
  timer_ = std::thread([this] { Loop(); });
}

void RolloutManager::Loop() {
  while (true) {
    {
      core::MutexLock lock(stop_mutex_);
      const auto wake = std::chrono::steady_clock::now() + options_.tick;
      while (!stopping_ && stop_cv_.WaitUntil(stop_mutex_, wake)) {
      }
      if (stopping_) return;
    }
    Tick();
  }
}

int64_t RolloutManager::WallMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void RolloutManager::Change(Entry& entry, RolloutStatus status, std::string what) {
  RolloutState& state = entry.state;
  state.status = status;
  state.reason = what;
  state.Record(WallMs(), what);
  spdlog::info("rollout '{}' of {}@{}: {}", state.spec.endpoint, state.spec.candidate.model,
               state.spec.candidate.version, what);
  std::optional<std::vector<SplitArm>> arms = RolloutArms(state, entry.endpoint->routing()->arms);
  if (arms) {
    if (absl::Status s = entry.endpoint->SetArms(*std::move(arms)); !s.ok()) {
      spdlog::error("rollout '{}': cannot set the arms: {}", state.spec.endpoint,
                    std::string(s.message()));
    }
  }
  if (absl::Status s = SaveRolloutState(options_.state_dir, state); !s.ok()) {
    spdlog::error("rollout '{}': cannot write its state: {}", state.spec.endpoint,
                  std::string(s.message()));
  }
}

void RolloutManager::BeginStep(Entry& entry) {
  entry.since = time_.Now();
  entry.last.reset();
  entry.state.step_started_unix_ms = WallMs();
}

void RolloutManager::Tick() {
  // Rollouts whose candidate is ready: (endpoint, start time) of each.
  std::vector<std::pair<std::string, int64_t>> ready;
  {
    core::MutexLock lock(mutex_);
    for (auto& [name, entry] : rollouts_) {
      if (entry.state.status == RolloutStatus::kPending && TickPending(entry)) {
        ready.emplace_back(name, entry.state.started_unix_ms);
      }
      if (entry.state.status == RolloutStatus::kRunning) TickRunning(entry);
    }
  }
  // The pre-traffic check may take long (a load test): without the lock,
  // so status calls and /metrics never wait for it.
  for (const auto& [name, started] : ready) {
    RolloutCandidate candidate;
    {
      core::MutexLock lock(mutex_);
      candidate = rollouts_.at(name).state.spec.candidate;
    }
    absl::Status check = options_.check ? options_.check(candidate) : absl::OkStatus();
    core::MutexLock lock(mutex_);
    Entry& entry = rollouts_.at(name);
    // Aborted, or replaced by another rollout, while it was checked: moot.
    if (entry.state.status != RolloutStatus::kPending || entry.state.started_unix_ms != started) {
      continue;
    }
    FinishCheck(entry, check);
  }
}

bool RolloutManager::TickPending(Entry& entry) {
  const RolloutState& state = entry.state;
  absl::Status ready = options_.ready(state.spec.candidate);
  if (ready.ok()) return true;
  if (time_.Now() - entry.since < state.spec.load_timeout) return false;
  ++entry.rollbacks;
  Change(entry, RolloutStatus::kRolledBack,
         fmt::format("rolled back: the candidate was not ready within {} ms: {}",
                     state.spec.load_timeout.count(), std::string(ready.message())));
  return false;
}

void RolloutManager::FinishCheck(Entry& entry, const absl::Status& check) {
  const RolloutState& state = entry.state;
  if (!check.ok()) {
    Change(entry, RolloutStatus::kFailed, fmt::format("failed: {}", std::string(check.message())));
    return;
  }
  entry.state.step = 0;
  BeginStep(entry);
  Change(entry, RolloutStatus::kRunning,
         fmt::format("step 1 at {}%: the candidate is ready and passed its check",
                     state.spec.steps[0].weight));
}

RolloutWindow RolloutManager::ReadWindow(const Entry& entry) const {
  const std::shared_ptr<const SplitRouting> routing = entry.endpoint->routing();
  RolloutWindow window;
  for (size_t i = 0; i < routing->arms.size(); ++i) {
    const SplitArm& arm = routing->arms[i];
    const bool stable = arm.name == kStableArm;
    if (!stable && arm.name != kCanaryArm) continue;
    (stable ? window.stable : window.candidate) = routing->windows[i]->Read();
    if (!options_.quality || !entry.state.spec.gates.quality) continue;
    const auto since = std::chrono::system_clock::time_point(
        std::chrono::milliseconds(entry.state.step_started_unix_ms));
    (stable ? window.stable_quality : window.candidate_quality) =
        options_.quality->Quality({.endpoint = entry.state.spec.endpoint,
                                   .arm = arm.name,
                                   .model = arm.model,
                                   .version = arm.version,
                                   .since = since});
  }
  return window;
}

void RolloutManager::TickRunning(Entry& entry) {
  const RolloutState& state = entry.state;
  const RolloutJudge judge(state.spec.steps, state.spec.gates);
  Judgement judgement =
      judge.Judge(state.step, Millis(time_.Now() - entry.since), ReadWindow(entry));
  const std::string reason = judgement.reason;
  const RolloutDecision decision = judgement.decision;
  entry.last = std::move(judgement);
  switch (decision) {
    case RolloutDecision::kHold:
      entry.state.reason = reason;
      return;
    case RolloutDecision::kRollBack:
      ++entry.rollbacks;
      Change(entry, RolloutStatus::kRolledBack, "rolled back: " + reason);
      return;
    case RolloutDecision::kPromote:
      Change(entry, RolloutStatus::kPromoted, "promoted: " + reason);
      return;
    case RolloutDecision::kAdvance:
      ++entry.state.step;
      BeginStep(entry);
      Change(entry, RolloutStatus::kRunning,
             fmt::format("step {} at {}%: {}", entry.state.step + 1,
                         state.spec.steps[entry.state.step].weight, reason));
      return;
  }
}

absl::StatusOr<RolloutState> RolloutManager::NewState(const RolloutRequest& request,
                                                      const SplitEndpoint& endpoint) const {
  RolloutState state;
  RolloutSpec& spec = state.spec;
  spec.endpoint = request.endpoint;
  absl::StatusOr<RolloutCandidate> candidate = ParseCandidate(request.candidate);
  if (!candidate.ok()) return candidate.status();
  spec.candidate = *std::move(candidate);
  spec.steps_text = request.steps.empty() ? std::string(kDefaultSteps) : request.steps;
  absl::StatusOr<std::vector<RolloutStep>> steps = ParseSteps(spec.steps_text);
  if (!steps.ok()) return steps.status();
  spec.steps = *std::move(steps);
  spec.gate_texts = request.gates;
  absl::StatusOr<GateOptions> gates = ParseGates(spec.gate_texts);
  if (!gates.ok()) return gates.status();
  spec.gates = *gates;
  if (!request.load_timeout.empty()) {
    absl::StatusOr<std::chrono::milliseconds> timeout = ParseDuration(request.load_timeout);
    if (!timeout.ok()) return timeout.status();
    spec.load_timeout = *timeout;
  }
  const std::vector<SplitArm> arms = endpoint.routing()->arms;
  const SplitArm* stable = ArmNamed(arms, kStableArm);
  if (stable == nullptr) {
    return absl::FailedPreconditionError(
        fmt::format("endpoint '{}' has no arm named '{}': a rollout ramps a candidate against it",
                    request.endpoint, kStableArm));
  }
  for (const SplitArm& arm : arms) {
    if (!arm.endpoint.empty()) {
      return absl::FailedPreconditionError(
          fmt::format("endpoint '{}': the arm '{}' is the endpoint '{}': a rollout ramps a model "
                      "version against model arms only",
                      request.endpoint, arm.name, arm.endpoint));
    }
    if (arm.name != kStableArm && arm.name != kCanaryArm) {
      return absl::FailedPreconditionError(
          fmt::format("endpoint '{}' has the arm '{}': a rollout needs the arms '{}' and "
                      "optionally '{}' only",
                      request.endpoint, arm.name, kStableArm, kCanaryArm));
    }
  }
  state.stable = {.model = stable->model, .version = stable->version};
  if (const SplitArm* canary = ArmNamed(arms, kCanaryArm)) {
    state.canary = RolloutCandidate{.model = canary->model, .version = canary->version};
  }
  state.started_unix_ms = WallMs();
  return state;
}

absl::StatusOr<RolloutView> RolloutManager::Start(const RolloutRequest& request) {
  auto endpoint = endpoints_.find(request.endpoint);
  if (endpoint == endpoints_.end()) {
    return absl::NotFoundError(fmt::format(
        "no endpoint '{}' of plan: split with fixed weights (a rollout needs one; a split of "
        "policy: thompson routes by reward and takes none)",
        request.endpoint));
  }
  absl::StatusOr<RolloutState> state = NewState(request, *endpoint->second);
  if (!state.ok()) return state.status();
  core::MutexLock lock(mutex_);
  auto existing = rollouts_.find(request.endpoint);
  if (existing != rollouts_.end() && IsActive(existing->second.state.status)) {
    return absl::FailedPreconditionError(
        fmt::format("endpoint '{}' has a rollout {} already; abort it first", request.endpoint,
                    RolloutStatusName(existing->second.state.status)));
  }
  Entry& entry = rollouts_[request.endpoint];
  const int64_t rollbacks = entry.rollbacks;
  entry = Entry{.state = *std::move(state),
                .endpoint = endpoint->second,
                .since = time_.Now(),
                .last = std::nullopt,
                .rollbacks = rollbacks};
  Change(entry, RolloutStatus::kPending,
         fmt::format("started: waiting for the candidate to be ready (steps {})",
                     entry.state.spec.steps_text));
  return View(entry);
}

absl::StatusOr<RolloutView> RolloutManager::Status(const std::string& endpoint) const {
  core::MutexLock lock(mutex_);
  auto it = rollouts_.find(endpoint);
  if (it == rollouts_.end()) {
    return absl::NotFoundError(fmt::format("endpoint '{}' has had no rollout", endpoint));
  }
  return View(it->second);
}

absl::StatusOr<RolloutView> RolloutManager::Act(const std::string& endpoint, RolloutAction action) {
  core::MutexLock lock(mutex_);
  auto it = rollouts_.find(endpoint);
  if (it == rollouts_.end()) {
    return absl::NotFoundError(fmt::format("endpoint '{}' has had no rollout", endpoint));
  }
  Entry& entry = it->second;
  const RolloutStatus status = entry.state.status;
  const bool on_step = status == RolloutStatus::kRunning || status == RolloutStatus::kPaused;
  if (action == RolloutAction::kPause && status == RolloutStatus::kRunning) {
    Change(entry, RolloutStatus::kPaused, "paused by the control API");
  } else if (action == RolloutAction::kResume && status == RolloutStatus::kPaused) {
    Change(entry, RolloutStatus::kRunning, "resumed by the control API");
  } else if (action == RolloutAction::kAbort && IsActive(status)) {
    Change(entry, RolloutStatus::kAborted, "aborted by the control API");
  } else if (action == RolloutAction::kPromote && on_step) {
    Change(entry, RolloutStatus::kPromoted, "promoted by the control API");
  } else {
    return absl::FailedPreconditionError(fmt::format(
        "the rollout of '{}' is {}: pause needs running, resume paused, abort an active "
        "rollout, promote running or paused",
        endpoint, RolloutStatusName(status)));
  }
  return View(entry);
}

std::vector<RolloutView> RolloutManager::List() const {
  core::MutexLock lock(mutex_);
  std::vector<RolloutView> views;
  for (const auto& [name, entry] : rollouts_) views.push_back(View(entry));
  return views;
}

RolloutView RolloutManager::View(const Entry& entry) const {
  RolloutWindow window = ReadWindow(entry);
  window.stable.latency_ms.clear();
  window.candidate.latency_ms.clear();
  return RolloutView{.state = entry.state,
                     .weight = CandidateWeight(entry.state),
                     .last = entry.last,
                     .stable_window = std::move(window.stable),
                     .candidate_window = std::move(window.candidate),
                     .rollbacks = entry.rollbacks};
}

std::vector<prometheus::MetricFamily> RolloutManager::CollectMetrics() const {
  return RolloutMetricFamilies(List());
}

}  // namespace strata::serving
