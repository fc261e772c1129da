// Test helpers for the model lifecycle: a TimeSource whose waits advance
// its own time instead of sleeping, an Executor that runs tasks on the
// caller's thread and ticks only when the test says, and a scripted backend
// whose versions load, fail to load or fail their warm-up as told.
// Test-only code.
#ifndef STRATA_SERVING_TESTING_FAKE_LIFECYCLE_H_
#define STRATA_SERVING_TESTING_FAKE_LIFECYCLE_H_

#include <atomic>
#include <charconv>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/backend_registry.h"
#include "serving/lifecycle/executor.h"
#include "serving/lifecycle/time_source.h"

namespace strata::serving::testing {

// Time that moves only when told to, or when someone "sleeps" on it.
class FakeTimeSource : public TimeSource {
 public:
  Clock::time_point Now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  // Advances the time by `duration` and calls the sleep hook; never blocks.
  void SleepFor(Clock::duration duration) override {
    Advance(duration);
    std::function<void(Clock::time_point)> hook;
    {
      std::lock_guard lock(mutex_);
      hook = on_sleep_;
      slept_ += duration;
    }
    if (hook) hook(Now());
  }
  void Advance(Clock::duration duration) {
    std::lock_guard lock(mutex_);
    now_ += duration;
  }
  // Called after every SleepFor with the new time (e.g. to finish a request).
  void OnSleep(std::function<void(Clock::time_point)> hook) {
    std::lock_guard lock(mutex_);
    on_sleep_ = std::move(hook);
  }
  Clock::duration slept() const {
    std::lock_guard lock(mutex_);
    return slept_;
  }

 private:
  mutable std::mutex mutex_;
  Clock::time_point now_ = Clock::time_point() + std::chrono::hours(1);
  Clock::duration slept_{0};
  std::function<void(Clock::time_point)> on_sleep_;
};

// Runs each task at once on the posting thread (a task posted by a task
// runs after it); the tick runs only on RunTick().
class InlineExecutor : public Executor {
 public:
  void Post(Task task) override {
    pending_.push_back(std::move(task));
    if (running_) return;
    running_ = true;
    while (!pending_.empty()) {
      Task next = std::move(pending_.front());
      pending_.pop_front();
      next();
    }
    running_ = false;
  }
  void Start(Tick tick) override { tick_ = std::move(tick); }
  void Stop() override { tick_ = nullptr; }

  // Runs the periodic work once; returns when it wants to run again.
  std::optional<std::chrono::steady_clock::time_point> RunTick() {
    return tick_ ? tick_() : std::nullopt;
  }

 private:
  Tick tick_;
  std::deque<Task> pending_;
  bool running_ = false;
};

// What a version of the scripted backend does.
enum class FakeVersion { kServes, kFailsToLoad, kFailsWarmUp };

// Backend "scripted" (FP32 x -> y). Each version does what `script` says
// (kServes when not listed); counts the models alive.
class ScriptedBackend {
 public:
  std::map<int64_t, FakeVersion> script;

  int alive() const { return alive_->load(); }
  int loads() const { return loads_->load(); }

  runtime::BackendRegistry Registry() {
    runtime::BackendRegistry registry;
    registry.Register({"scripted", "fake_scripted",
                       [this](const runtime::ModelConfig&, const std::filesystem::path& dir) {
                         return Load(dir);
                       }});
    return registry;
  }

 private:
  class Model : public runtime::Model {
   public:
    Model(bool fails, std::shared_ptr<std::atomic<int>> alive)
        : fails_(fails), alive_(std::move(alive)) {
      ++*alive_;
    }
    ~Model() override { --*alive_; }
    absl::StatusOr<std::vector<core::Tensor>> Run(std::span<const core::Tensor> inputs) override {
      if (fails_) return absl::InternalError("scripted failure");
      core::Tensor out = core::Tensor::Zeros("y", core::DataType::kFp32, inputs[0].shape);
      return std::vector<core::Tensor>{std::move(out)};
    }

   private:
    const bool fails_;
    std::shared_ptr<std::atomic<int>> alive_;
  };

  absl::StatusOr<std::unique_ptr<runtime::Model>> Load(const std::filesystem::path& dir) {
    const std::string name = dir.filename().string();
    int64_t version = 0;
    std::from_chars(name.data(), name.data() + name.size(), version);
    auto it = script.find(version);
    const FakeVersion what = it == script.end() ? FakeVersion::kServes : it->second;
    ++*loads_;
    if (what == FakeVersion::kFailsToLoad)
      return absl::InvalidArgumentError("scripted load failure");
    return std::make_unique<Model>(what == FakeVersion::kFailsWarmUp, alive_);
  }

  std::shared_ptr<std::atomic<int>> alive_ = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> loads_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace strata::serving::testing

#endif  // STRATA_SERVING_TESTING_FAKE_LIFECYCLE_H_
