#include "serving/inline_first_model.h"

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "core/buffer_pool.h"
#include "gtest/gtest.h"

namespace strata::serving {
namespace {

using Result = absl::StatusOr<std::vector<core::Tensor>>;

// Echoes its input; records the thread of each run and the most runs seen at
// once. While closed, Run() blocks, so tests can hold a slot.
class GatedModel : public runtime::Model {
 public:
  Result Run(std::span<const core::Tensor> inputs) override {
    std::unique_lock lock(mutex_);
    threads_.push_back(std::this_thread::get_id());
    ++running_;
    most_running_ = std::max(most_running_, running_);
    entered_.notify_all();
    opened_.wait(lock, [this] { return open_; });
    --running_;
    return std::vector<core::Tensor>(inputs.begin(), inputs.end());
  }
  void Close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }
  void Open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    opened_.notify_all();
  }
  void AwaitRunning(int n) {
    std::unique_lock lock(mutex_);
    entered_.wait(lock, [&] { return running_ >= n; });
  }
  std::vector<std::thread::id> threads() {
    std::lock_guard lock(mutex_);
    return threads_;
  }
  int most_running() {
    std::lock_guard lock(mutex_);
    return most_running_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_, entered_;
  bool open_ = true;
  int running_ = 0, most_running_ = 0;
  std::vector<std::thread::id> threads_;
};

std::vector<core::Tensor> Row() {
  return {core::Tensor::Zeros("x", core::DataType::kFp32, {1, 2})};
}

DynamicBatcherOptions Options(bool batching = false, size_t queue_size = 100) {
  DynamicBatcherOptions options;
  options.queue.batching = batching;
  options.queue.max_batch_size = 4;
  options.queue.max_queue_size = queue_size;
  options.instances = 1;
  return options;
}

std::string Delta(const std::string& name, int delta) {
  return name + (delta > 0 ? " +" : " ") + std::to_string(delta);
}

// A bound no test run exceeds, however loaded the machine.
constexpr std::chrono::nanoseconds kGenerous = std::chrono::hours(1);

std::future<Result> Submit(InlineFirstModel& model, runtime::Model::RunOptions options = {}) {
  auto promise = std::make_shared<std::promise<Result>>();
  std::future<Result> future = promise->get_future();
  model.RunAsync(Row(), options, [promise](Result r) { promise->set_value(std::move(r)); });
  return future;
}

TEST(InlineFirstModelTest, AFreeMeasuredUnbatchedModelRunsOnTheCallingThread) {
  auto backend = std::make_shared<GatedModel>();
  InlineFirstModel model(backend, Options(), {}, kGenerous);
  EXPECT_TRUE(Submit(model).get().ok());  // not measured yet: through the queue
  std::future<Result> answer = Submit(model);
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_TRUE(answer.get().ok());
  ASSERT_EQ(backend->threads().size(), 2u);
  EXPECT_NE(backend->threads()[0], std::this_thread::get_id());
  EXPECT_EQ(backend->threads()[1], std::this_thread::get_id());
}

TEST(InlineFirstModelTest, ABatchingModelRunsOnItsWorkers) {
  auto backend = std::make_shared<GatedModel>();
  InlineFirstModel model(backend, Options(/*batching=*/true), {}, kGenerous);
  EXPECT_TRUE(Submit(model).get().ok());
  EXPECT_TRUE(Submit(model).get().ok());
  ASSERT_EQ(backend->threads().size(), 2u);
  EXPECT_NE(backend->threads()[1], std::this_thread::get_id());
}

TEST(InlineFirstModelTest, ABusySlotQueuesAndTheWorkerRunsIt) {
  auto backend = std::make_shared<GatedModel>();
  InlineFirstModel model(backend, Options(), {}, kGenerous);
  EXPECT_TRUE(Submit(model).get().ok());  // measured
  backend->Close();
  std::future<Result> first;
  std::thread holder([&] { first = Submit(model); });  // inline on `holder`, blocks
  backend->AwaitRunning(1);
  std::future<Result> second = Submit(model);  // the slot is held: queued
  EXPECT_EQ(model.state().queued, 1);
  backend->AwaitRunning(2);  // the worker does not wait for the inline run
  backend->Open();
  holder.join();
  EXPECT_TRUE(first.get().ok());
  EXPECT_TRUE(second.get().ok());
  ASSERT_EQ(backend->threads().size(), 3u);  // measured, held inline, queued
  EXPECT_NE(backend->threads()[2], std::this_thread::get_id());
  EXPECT_EQ(model.state().queued, 0);
  EXPECT_EQ(model.state().running, 0);
}

TEST(InlineFirstModelTest, AFullQueueStillSheds) {
  auto backend = std::make_shared<GatedModel>();
  std::atomic<int> dequeued{0};
  DynamicBatcherHooks hooks;
  hooks.on_dequeue = [&](Clock::duration) { ++dequeued; };
  InlineFirstModel model(backend, Options(false, /*queue_size=*/1), hooks, kGenerous);
  EXPECT_TRUE(Submit(model).get().ok());  // measured
  backend->Close();
  std::future<Result> first;
  std::thread holder([&] { first = Submit(model); });
  backend->AwaitRunning(1);
  std::future<Result> waiting = Submit(model);  // the worker takes it and runs it
  while (dequeued.load() < 3) std::this_thread::yield();
  std::future<Result> queued = Submit(model);  // fills the queue of one
  Result refused = Submit(model).get();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  backend->Open();
  holder.join();
  EXPECT_TRUE(first.get().ok());
  EXPECT_TRUE(waiting.get().ok());
  EXPECT_TRUE(queued.get().ok());
}

TEST(InlineFirstModelTest, ASlowModelIsAlwaysQueued) {
  auto backend = std::make_shared<GatedModel>();
  InlineFirstModel model(backend, Options(), {}, /*inline_bound=*/std::chrono::nanoseconds(0));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Submit(model).get().ok());
  for (std::thread::id id : backend->threads()) EXPECT_NE(id, std::this_thread::get_id());
}

TEST(InlineFirstModelTest, APassedDeadlineIsAnsweredWithoutRunning) {
  auto backend = std::make_shared<GatedModel>();
  InlineFirstModel model(backend, Options(), {}, kGenerous);
  EXPECT_TRUE(Submit(model).get().ok());  // measured
  Result expired = Submit(model, {.deadline = Clock::now()}).get();
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(backend->threads().size(), 1u);
  EXPECT_EQ(model.state().running, 0);
}

TEST(InlineFirstModelTest, AnInlineRunReportsTheBatcherHooks) {
  auto backend = std::make_shared<GatedModel>();
  bool recording = false;  // from the second, inline, request
  std::vector<std::string> seen;
  const auto note = [&](std::string what) {
    if (recording) seen.push_back(std::move(what));
  };
  DynamicBatcherHooks hooks;
  hooks.on_in_flight = [&](int d) { note(Delta("in_flight", d)); };
  hooks.on_running = [&](int d) { note(Delta("running", d)); };
  hooks.on_dequeue = [&](Clock::duration waited) {
    note(waited.count() == 0 ? "dequeue 0" : "dequeue >0");
  };
  hooks.on_batch = [&](const BatchPhases& b) { note("batch " + std::to_string(b.rows)); };
  InlineFirstModel model(backend, Options(), hooks, kGenerous);
  ASSERT_TRUE(Submit(model).get().ok());  // measured through the queue
  recording = true;
  ASSERT_TRUE(Submit(model).get().ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"in_flight +1", "running +1", "dequeue 0", "batch 1",
                                            "running -1", "in_flight -1"}));
}

}  // namespace
}  // namespace strata::serving

namespace strata::serving {
namespace {

// An inline run ends its inputs' use on the calling thread: their storage goes
// back to that thread's pool for the next request it decodes, while the
// outputs (copies, here) keep their values.
TEST(InlineFirstModelTest, AnInlineRunGivesItsInputsStorageBack) {
  auto backend = std::make_shared<GatedModel>();
  InlineFirstModel model(backend, Options(), {}, kGenerous);
  EXPECT_TRUE(Submit(model).get().ok());  // measured through the queue
  std::thread caller([&] {
    std::vector<core::Tensor> inputs = Row();
    inputs[0].data = core::TensorDataPool::Take(8);  // as the decoders do
    inputs[0].data.resize(8);
    inputs[0].MutableAs<float>()[1] = 2.5f;
    const uint8_t* storage = inputs[0].data.data();
    Result outputs;
    model.RunAsync(std::move(inputs), {}, [&](Result r) { outputs = std::move(r); });
    ASSERT_TRUE(outputs.ok()) << outputs.status();  // inline: answered before RunAsync returned
    EXPECT_EQ((*outputs)[0].As<float>()[1], 2.5f);
    EXPECT_EQ(core::TensorDataPool::KeptOnThisThread(), 1u);
    EXPECT_EQ(core::TensorDataPool::Take(8).data(), storage);
  });
  caller.join();
}

}  // namespace
}  // namespace strata::serving
