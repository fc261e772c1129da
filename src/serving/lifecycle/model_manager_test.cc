// ModelManager driven by an InlineExecutor and a FakeTimeSource: scans,
// loads, control operations and drains run on the test's thread when the
// test says, and waits advance fake time. Nothing here sleeps.
#include "serving/lifecycle/model_manager.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "serving/testing/fake_lifecycle.h"

namespace strata::serving {
namespace {
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using testing::FakeTimeSource;
using testing::FakeVersion;
using testing::InlineExecutor;
using testing::ScriptedBackend;

constexpr char kConfig[] = R"(
backend: scripted
max_batch_size: 4
inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
outputs: [{name: y, datatype: FP32, shape: [-1, 2]}]
version_marker: done
warmup: {generate: zeros}
)";

class ModelManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) / "model_manager_test" /
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(root_);
    fs::create_directories(root_ / "models/m");
    std::ofstream(root_ / "models/m/config.yaml") << kConfig;
  }

  void Publish(int64_t version) {
    const fs::path dir = root_ / "models/m" / std::to_string(version);
    fs::create_directories(dir);
    std::ofstream(dir / "done") << "";
  }

  void Start() {
    auto executor = std::make_unique<InlineExecutor>();
    executor_ = executor.get();
    ModelManagerOptions options;
    options.repository = root_;
    options.poll_interval = milliseconds(1000);
    options.executor = std::move(executor);
    options.time = &time_;
    auto manager = ModelManager::Create(std::move(options), registry_, metrics_);
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = *std::move(manager);
  }

  // One poll interval of fake time, then the executor's periodic work.
  void NextPoll() {
    time_.Advance(milliseconds(1000));
    executor_->RunTick();
  }

  int64_t Default() {
    auto found = manager_->Find("m", "");
    return found.ok() ? (*found)->version : -1;
  }

  // The index line of `version` (a copy; kUnavailable with no reason when
  // the index has none).
  VersionStatus Status(const std::string& version) {
    for (const VersionStatus& s : manager_->Index()) {
      if (s.version == version) return s;
    }
    return {"m", version, VersionState::kUnavailable, "not in the index"};
  }

  // Runs a control operation (inline: done before this returns).
  absl::StatusOr<std::string> Control(
      const std::function<void(ModelControl::ControlCallback)>& op) {
    std::optional<absl::StatusOr<std::string>> result;
    op([&](absl::StatusOr<std::string> r) { result = std::move(r); });
    EXPECT_TRUE(result.has_value()) << "the control operation did not run inline";
    return result.value_or(absl::InternalError("no result"));
  }

  fs::path root_;
  ScriptedBackend backend_;
  runtime::BackendRegistry registry_ = backend_.Registry();
  ServerMetrics metrics_;
  FakeTimeSource time_;
  InlineExecutor* executor_ = nullptr;
  std::unique_ptr<ModelManager> manager_;
};

TEST_F(ModelManagerTest, SwapsInANewVersionAtTheNextPoll) {
  Publish(1);
  Start();
  EXPECT_EQ(Default(), 1);
  Publish(2);
  executor_->RunTick();  // no time has passed: no scan is due
  EXPECT_EQ(Default(), 1);
  NextPoll();
  EXPECT_EQ(Default(), 2);
  EXPECT_EQ(backend_.alive(), 1) << "version 1 had nothing in flight and is unloaded";
  EXPECT_EQ(Status("1").state, VersionState::kUnavailable);
}

TEST_F(ModelManagerTest, AFailedLoadLeavesTheOldVersionServing) {
  backend_.script[2] = FakeVersion::kFailsToLoad;
  Publish(1);
  Start();
  Publish(2);
  NextPoll();
  EXPECT_EQ(Default(), 1);
  const VersionStatus two = Status("2");
  EXPECT_EQ(two.state, VersionState::kUnavailable);
  EXPECT_NE(two.reason.find("version 2 failed to load: scripted load failure"), std::string::npos)
      << two.reason;
  const int loads = backend_.loads();
  NextPoll();
  EXPECT_EQ(backend_.loads(), loads) << "an unchanged failed version is not retried";
}

TEST_F(ModelManagerTest, AFailedWarmUpLeavesTheOldVersionServing) {
  backend_.script[2] = FakeVersion::kFailsWarmUp;
  Publish(1);
  Start();
  Publish(2);
  NextPoll();
  EXPECT_EQ(Default(), 1);
  EXPECT_EQ(Status("2").state, VersionState::kUnavailable);
  EXPECT_EQ(backend_.alive(), 1) << "the version that failed its warm-up is destroyed";
}

TEST_F(ModelManagerTest, RollbackPinsThePreviousDefault) {
  Publish(1);
  Start();
  Publish(2);
  NextPoll();
  ASSERT_EQ(Default(), 2);
  absl::StatusOr<std::string> rolled =
      Control([&](auto done) { manager_->Rollback("m", std::move(done)); });
  ASSERT_TRUE(rolled.ok()) << rolled.status();
  EXPECT_EQ(Default(), 1);
  Publish(3);
  NextPoll();
  EXPECT_EQ(Default(), 1) << "pinned until the default is changed";
  ASSERT_TRUE(Control([&](auto done) { manager_->SetDefault("m", 0, std::move(done)); }).ok());
  EXPECT_EQ(Default(), 3);
}

TEST_F(ModelManagerTest, RollbackWithoutAPreviousVersionFails) {
  Publish(1);
  Start();
  EXPECT_EQ(Control([&](auto done) { manager_->Rollback("m", std::move(done)); }).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ModelManagerTest, ALabelKeepsItsVersionLoaded) {
  Publish(1);
  Publish(2);
  Start();
  ASSERT_EQ(Default(), 2);
  ASSERT_TRUE(
      Control([&](auto done) { manager_->SetLabel("m", "stable", 1, std::move(done)); }).ok());
  auto stable = manager_->Find("m", "stable");
  ASSERT_TRUE(stable.ok()) << stable.status();
  EXPECT_EQ((*stable)->version, 1);
  EXPECT_EQ(Default(), 2);
  EXPECT_EQ(Control([&](auto done) { manager_->SetLabel("m", "9lives", 1, std::move(done)); })
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Control([&](auto done) { manager_->SetLabel("m", "next", 7, std::move(done)); })
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(
      Control([&](auto done) { manager_->SetLabel("m", "stable", 0, std::move(done)); }).ok());
  EXPECT_FALSE(manager_->Find("m", "stable").ok());
  EXPECT_EQ(backend_.alive(), 2) << "version 1 drains while `stable` holds it";
  stable = absl::NotFoundError("request finished");
  executor_->RunTick();
  EXPECT_EQ(backend_.alive(), 1);
}

TEST_F(ModelManagerTest, UnloadWaitsForInFlightRequestsInFakeTime) {
  Publish(1);
  Start();
  auto in_flight = manager_->Find("m", "");  // a request holds its version
  ASSERT_TRUE(in_flight.ok());
  time_.OnSleep([&, started = time_.Now()](TimeSource::Clock::time_point now) {
    if (now - started >= milliseconds(50)) in_flight = absl::NotFoundError("finished");
  });
  absl::StatusOr<std::string> unloaded =
      Control([&](auto done) { manager_->Unload("m", std::move(done)); });
  ASSERT_TRUE(unloaded.ok()) << unloaded.status();
  EXPECT_EQ(backend_.alive(), 0) << "unloaded once its request finished";
  EXPECT_GE(time_.slept(), milliseconds(50));
  EXPECT_LT(time_.slept(), milliseconds(100));
}

TEST_F(ModelManagerTest, ADrainThatTimesOutFinishesAtALaterTick) {
  Publish(1);
  Start();
  auto in_flight = manager_->Find("m", "");
  ASSERT_TRUE(in_flight.ok());
  ASSERT_TRUE(Control([&](auto done) { manager_->Unload("m", std::move(done)); }).ok());
  EXPECT_GE(time_.slept(), milliseconds(30000)) << "the drain timeout, in fake time";
  EXPECT_EQ(backend_.alive(), 1) << "still in flight";
  std::optional<TimeSource::Clock::time_point> wake = executor_->RunTick();
  ASSERT_TRUE(wake.has_value());
  EXPECT_LE(*wake, time_.Now() + milliseconds(20)) << "draining versions are reaped soon";
  in_flight = absl::NotFoundError("finished");
  executor_->RunTick();
  EXPECT_EQ(backend_.alive(), 0);
}

TEST_F(ModelManagerTest, AnUnloadedModelSaysSoByItsState) {
  Publish(1);
  Start();
  ASSERT_TRUE(Control([&](auto done) { manager_->Unload("m", std::move(done)); }).ok());
  auto view = manager_->Find("m", "");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ((*view)->state(), VersionState::kUnloaded);
  EXPECT_EQ(Status("1").state, VersionState::kUnloaded);
  ASSERT_TRUE(Control([&](auto done) { manager_->Load("m", std::move(done)); }).ok());
  EXPECT_EQ(Default(), 1);
  EXPECT_EQ((*manager_->Find("m", ""))->state(), VersionState::kReady);
}

TEST_F(ModelManagerTest, AModelRemovedFromTheRepositoryIsUnloaded) {
  Publish(1);
  Start();
  fs::remove_all(root_ / "models/m");
  NextPoll();
  EXPECT_EQ(manager_->Find("m", "").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(backend_.alive(), 0);
}

}  // namespace
}  // namespace strata::serving
