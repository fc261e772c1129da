#include "serving/rollout/rollout_manager.h"

#include <fstream>
#include <future>
#include <thread>

#include "gtest/gtest.h"
#include "serving/testing/fake_lifecycle.h"

namespace strata::serving {
namespace {
namespace fs = std::filesystem;
using std::chrono::milliseconds;

// A quality source whose figures the test sets, per arm name.
class FakeQualitySource : public QualitySource {
 public:
  std::optional<QualityStats> Quality(const QualityQuery& query) const override {
    auto it = by_arm.find(query.arm);
    if (it == by_arm.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::string, QualityStats> by_arm;
};

class RolloutManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    endpoint_ = MakeEndpoint();
  }

  static std::shared_ptr<SplitEndpoint> MakeEndpoint() {
    absl::StatusOr<std::unique_ptr<SplitEndpoint>> e = SplitEndpoint::Create(
        {.name = "ab",
         .arms = {{.name = "stable", .model = "m", .version = "1", .weight = 100}},
         .sticky_key = "user",
         .sticky_header = "",
         .salt = ""});
    EXPECT_TRUE(e.ok()) << e.status();
    return std::shared_ptr<SplitEndpoint>(*std::move(e));
  }

  std::unique_ptr<RolloutManager> Manager(std::shared_ptr<SplitEndpoint> endpoint) {
    auto manager =
        RolloutManager::Create({.state_dir = dir_,
                                .tick = milliseconds(1000),
                                .ready = [this](const RolloutCandidate&) { return ready_; },
                                .check = [this](const RolloutCandidate&) { return check_; },
                                .quality = quality_,
                                .time = &time_},
                               {std::move(endpoint)});
    EXPECT_TRUE(manager.ok()) << manager.status();
    return *std::move(manager);
  }

  // Traffic on the current step's windows: `n` requests per arm.
  void Traffic(int n, int candidate_errors, double candidate_ms) {
    const auto routing = endpoint_->routing();
    for (size_t i = 0; i < routing->arms.size(); ++i) {
      const bool canary = routing->arms[i].name == "canary";
      for (int k = 0; k < n; ++k) {
        routing->windows[i]->Record(!(canary && k < candidate_errors),
                                    canary ? candidate_ms : 1.0 + 0.01 * (k % 7));
      }
    }
  }

  double Weight(std::string_view arm) const {
    for (const SplitArm& a : endpoint_->routing()->arms) {
      if (a.name == arm) return a.weight;
    }
    return -1;
  }

  RolloutStatus StatusOf(RolloutManager& m) { return m.Status("ab")->state.status; }

  fs::path dir_;
  std::shared_ptr<SplitEndpoint> endpoint_;
  testing::FakeTimeSource time_;
  absl::Status ready_ = absl::OkStatus();
  absl::Status check_ = absl::OkStatus();
  std::shared_ptr<FakeQualitySource> quality_ = std::make_shared<FakeQualitySource>();
};

TEST_F(RolloutManagerTest, AHealthyCandidateRampsStepByStepKeepsKeysStickyAndIsPromoted) {
  auto m = Manager(endpoint_);
  ASSERT_TRUE(m->Start({.endpoint = "ab",
                        .candidate = "m@2",
                        .steps = "10:1s:50,50:1s:50,100",
                        .gates = {},
                        .load_timeout = ""})
                  .ok());
  EXPECT_EQ(StatusOf(*m), RolloutStatus::kPending);
  EXPECT_EQ(Weight("canary"), -1);  // no traffic before the check
  m->Tick();
  EXPECT_EQ(StatusOf(*m), RolloutStatus::kRunning);
  EXPECT_EQ(Weight("canary"), 10);
  std::vector<std::string> on_canary;
  for (int k = 0; k < 2000; ++k) {
    const std::string key = std::to_string(k);
    if (endpoint_->routing()->assignment.ArmOf(key) == 1) on_canary.push_back(key);
  }
  Traffic(100, 0, 1.0);
  m->Tick();  // the step's second has not passed
  EXPECT_EQ(m->Status("ab")->state.step, 0u);
  time_.Advance(milliseconds(1000));
  m->Tick();
  EXPECT_EQ(m->Status("ab")->state.step, 1u);
  EXPECT_EQ(Weight("canary"), 50);
  EXPECT_EQ(m->Status("ab")->candidate_window.requests, 0);  // a new window
  for (const std::string& key : on_canary) {
    EXPECT_EQ(endpoint_->routing()->assignment.ArmOf(key), 1u) << key;
  }
  Traffic(100, 0, 1.0);
  time_.Advance(milliseconds(1000));
  m->Tick();
  EXPECT_EQ(StatusOf(*m), RolloutStatus::kPromoted);
  const auto arms = endpoint_->routing()->arms;
  ASSERT_EQ(arms.size(), 1u);  // the old stable is retired: no arm names version 1
  EXPECT_EQ(arms[0].name, "stable");
  EXPECT_EQ(arms[0].version, "2");
  EXPECT_EQ(arms[0].weight, 100);
}

TEST_F(RolloutManagerTest, ErrorsRollBackAtOnceAndTheStableArmTakesEverything) {
  auto m = Manager(endpoint_);
  ASSERT_TRUE(m->Start({.endpoint = "ab",
                        .candidate = "m@2",
                        .steps = "10:60s:50,100",
                        .gates = {},
                        .load_timeout = ""})
                  .ok());
  m->Tick();
  Traffic(100, 40, 1.0);
  m->Tick();
  const absl::StatusOr<RolloutView> view = m->Status("ab");
  EXPECT_EQ(view->state.status, RolloutStatus::kRolledBack) << view->state.reason;
  EXPECT_NE(view->state.reason.find("gate error failed"), std::string::npos);
  EXPECT_EQ(view->rollbacks, 1);
  EXPECT_EQ(Weight("stable"), 100);
  EXPECT_EQ(Weight("canary"), -1);  // the candidate is no longer an arm
  EXPECT_EQ(endpoint_->routing()->arms[0].version, "1");
}

TEST_F(RolloutManagerTest, AbortRemovesTheCandidateArmAndARestartKeepsTheOldStableRetired) {
  {
    auto m = Manager(endpoint_);
    ASSERT_TRUE(m->Start({.endpoint = "ab",
                          .candidate = "m@2",
                          .steps = "30:60s:10,100",
                          .gates = {},
                          .load_timeout = ""})
                    .ok());
    m->Tick();
    ASSERT_EQ(Weight("canary"), 30);
    ASSERT_TRUE(m->Act("ab", RolloutAction::kAbort).ok());
    EXPECT_EQ(Weight("canary"), -1);
    EXPECT_EQ(Weight("stable"), 100);
    ASSERT_TRUE(m->Start({.endpoint = "ab",
                          .candidate = "m@3",
                          .steps = "30:60s:10,100",
                          .gates = {},
                          .load_timeout = ""})
                    .ok());
    m->Tick();
    ASSERT_TRUE(m->Act("ab", RolloutAction::kPromote).ok());
  }
  endpoint_ = MakeEndpoint();  // the endpoints file still names version 1
  auto m = Manager(endpoint_);
  const auto arms = endpoint_->routing()->arms;
  ASSERT_EQ(arms.size(), 1u);
  EXPECT_EQ(arms[0].version, "3");
  EXPECT_EQ(arms[0].weight, 100);
}

TEST_F(RolloutManagerTest, ASlowCandidateIsRolledBack) {
  auto m = Manager(endpoint_);
  ASSERT_TRUE(m->Start({.endpoint = "ab",
                        .candidate = "m@2",
                        .steps = "10:60s:50,100",
                        .gates = {},
                        .load_timeout = ""})
                  .ok());
  m->Tick();
  Traffic(100, 0, 20.0);
  m->Tick();
  EXPECT_EQ(StatusOf(*m), RolloutStatus::kRolledBack);
  EXPECT_NE(m->Status("ab")->state.reason.find("gate latency failed"), std::string::npos);
}

TEST_F(RolloutManagerTest, TheQualityGateReadsTheSourceAndHoldsWithoutData) {
  auto m = Manager(endpoint_);
  ASSERT_TRUE(m->Start({.endpoint = "ab",
                        .candidate = "m@2",
                        .steps = "10:0s:0,100",
                        .gates = {"error", "quality"},
                        .load_timeout = ""})
                  .ok());
  m->Tick();
  Traffic(100, 0, 1.0);
  m->Tick();
  EXPECT_EQ(StatusOf(*m), RolloutStatus::kRunning);  // no quality data: hold
  quality_->by_arm["stable"] = {.count = 200, .mean_loss = 0.3, .variance = 0.01};
  quality_->by_arm["canary"] = {.count = 200, .mean_loss = 0.6, .variance = 0.01};
  m->Tick();
  EXPECT_EQ(StatusOf(*m), RolloutStatus::kRolledBack);
  EXPECT_NE(m->Status("ab")->state.reason.find("gate quality failed"), std::string::npos);
}

TEST_F(RolloutManagerTest, AFailedCheckEndsTheRolloutBeforeAnyTraffic) {
  check_ = absl::FailedPreconditionError("functional: samples.json answers differ");
  auto m = Manager(endpoint_);
  ASSERT_TRUE(
      m->Start({.endpoint = "ab", .candidate = "m@2", .steps = "", .gates = {}, .load_timeout = ""})
          .ok());
  m->Tick();
  EXPECT_EQ(StatusOf(*m), RolloutStatus::kFailed);
  EXPECT_EQ(m->Status("ab")->state.reason, "failed: functional: samples.json answers differ");
  EXPECT_EQ(endpoint_->routing()->arms.size(), 1u);  // the arms never changed
}

TEST_F(RolloutManagerTest, ALongCheckDoesNotHoldStatusCallsAndAnAbortDuringItWins) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto m =
      RolloutManager::Create({.state_dir = dir_,
                              .tick = milliseconds(1000),
                              .ready = [](const RolloutCandidate&) { return absl::OkStatus(); },
                              .check =
                                  [&](const RolloutCandidate&) {
                                    entered.set_value();
                                    released.wait();
                                    return absl::OkStatus();
                                  },
                              .quality = nullptr,
                              .time = &time_},
                             {endpoint_});
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(
      (*m)->Start(
              {.endpoint = "ab", .candidate = "m@2", .steps = "", .gates = {}, .load_timeout = ""})
          .ok());
  std::thread ticker([&] { (*m)->Tick(); });
  entered.get_future().wait();
  EXPECT_EQ((*m)->Status("ab")->state.status, RolloutStatus::kPending);  // not blocked
  EXPECT_TRUE((*m)->Act("ab", RolloutAction::kAbort).ok());
  release.set_value();
  ticker.join();
  EXPECT_EQ((*m)->Status("ab")->state.status, RolloutStatus::kAborted);
}

TEST_F(RolloutManagerTest, ACandidateNotReadyInTimeIsRolledBack) {
  ready_ = absl::UnavailableError("version 2 failed to load");
  auto m = Manager(endpoint_);
  ASSERT_TRUE(
      m->Start(
           {.endpoint = "ab", .candidate = "m@2", .steps = "", .gates = {}, .load_timeout = "5s"})
          .ok());
  m->Tick();
  EXPECT_EQ(StatusOf(*m), RolloutStatus::kPending);
  time_.Advance(milliseconds(5000));
  m->Tick();
  EXPECT_EQ(StatusOf(*m), RolloutStatus::kRolledBack);
  EXPECT_NE(m->Status("ab")->state.reason.find("version 2 failed to load"), std::string::npos);
}

TEST_F(RolloutManagerTest, StartRefusesWhatItCannotRamp) {
  auto m = Manager(endpoint_);
  const absl::Status unknown =
      m->Start(
           {.endpoint = "nope", .candidate = "m@2", .steps = "", .gates = {}, .load_timeout = ""})
          .status();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  // The reason names what a rollout needs, a Thompson split included.
  EXPECT_NE(unknown.message().find("fixed weights"), std::string::npos) << unknown.message();
  EXPECT_NE(unknown.message().find("thompson"), std::string::npos) << unknown.message();
  EXPECT_EQ(
      m->Start({.endpoint = "ab", .candidate = "m", .steps = "", .gates = {}, .load_timeout = ""})
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(
      m->Start({.endpoint = "ab", .candidate = "m@2", .steps = "", .gates = {}, .load_timeout = ""})
          .ok());
  EXPECT_EQ(
      m->Start({.endpoint = "ab", .candidate = "m@3", .steps = "", .gates = {}, .load_timeout = ""})
          .status()
          .code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(m->Act("ab", RolloutAction::kResume).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(m->Act("ab", RolloutAction::kAbort).ok());
}

TEST_F(RolloutManagerTest, AStableArmThatIsAnEndpointIsRefusedClearly) {
  auto outer = SplitEndpoint::Create(
      {.name = "outer",
       .arms = {{.name = "stable", .model = "", .version = "", .weight = 100, .endpoint = "ab"}},
       .sticky_key = "user",
       .sticky_header = "",
       .salt = "",
       .endpoints = {{"ab", endpoint_}}});
  ASSERT_TRUE(outer.ok()) << outer.status();
  auto m = Manager(std::shared_ptr<SplitEndpoint>(*std::move(outer)));
  const auto started = m->Start(
      {.endpoint = "outer", .candidate = "m@2", .steps = "", .gates = {}, .load_timeout = ""});
  EXPECT_EQ(started.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(started.status().message().find("the arm 'stable' is the endpoint 'ab'"),
            std::string_view::npos)
      << started.status();
}

TEST_F(RolloutManagerTest, ARestartResumesAtTheStepWithANewWindow) {
  {
    auto m = Manager(endpoint_);
    ASSERT_TRUE(m->Start({.endpoint = "ab",
                          .candidate = "m@2",
                          .steps = "10:0s:10,30:60s:10,100",
                          .gates = {},
                          .load_timeout = ""})
                    .ok());
    m->Tick();
    Traffic(100, 0, 1.0);
    m->Tick();
    ASSERT_EQ(m->Status("ab")->state.step, 1u);
    ASSERT_TRUE(m->Act("ab", RolloutAction::kPause).ok());
  }
  endpoint_ = MakeEndpoint();  // the endpoints file's arms, as a restart builds them
  auto m = Manager(endpoint_);
  const absl::StatusOr<RolloutView> view = m->Status("ab");
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->state.status, RolloutStatus::kPaused);
  EXPECT_EQ(view->state.step, 1u);
  EXPECT_EQ(Weight("canary"), 30);
  EXPECT_NE(view->state.history.back().what.find("resumed after a restart at step 2"),
            std::string::npos);
  ASSERT_TRUE(m->Act("ab", RolloutAction::kPromote).ok());
  EXPECT_EQ(Weight("stable"), 100);
}

TEST(RolloutStateTest, RoundTripsThroughItsFileAndIgnoresTemporaryFiles) {
  const fs::path dir = fs::path(::testing::TempDir()) / "rollout_state_round_trip";
  fs::remove_all(dir);
  RolloutState state;
  state.spec.endpoint = "ab";
  state.spec.candidate = {.model = "m", .version = "2"};
  state.spec.steps_text = "5:1s:10,100";
  state.spec.steps = *ParseSteps(state.spec.steps_text);
  state.spec.gate_texts = {"error:0.02", "latency"};
  state.spec.gates = *ParseGates(state.spec.gate_texts);
  state.status = RolloutStatus::kRunning;
  state.stable = {.model = "m", .version = "1"};
  state.Record(42, "step 1: \"quoted\": yes");
  ASSERT_TRUE(SaveRolloutState(dir, state).ok());
  std::ofstream(dir / ".ab.rollout.yaml.tmp") << "half written: [";
  absl::StatusOr<std::vector<RolloutState>> loaded = LoadRolloutStates(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 1u);
  const RolloutState& back = (*loaded)[0];
  EXPECT_EQ(back.spec.candidate.version, "2");
  EXPECT_EQ(back.spec.gates.error_min_diff, 0.02);
  EXPECT_EQ(back.status, RolloutStatus::kRunning);
  EXPECT_FALSE(back.canary.has_value());
  ASSERT_EQ(back.history.size(), 1u);
  EXPECT_EQ(back.history[0].what, "step 1: \"quoted\": yes");
  std::ofstream(dir / "bad.rollout.yaml") << "endpoint: [";
  EXPECT_FALSE(LoadRolloutStates(dir).ok());
}

}  // namespace
}  // namespace strata::serving
