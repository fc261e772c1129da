#include "serving/dynamic_batcher.h"

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <tuple>

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

// Doubles its input and records the batch sizes it saw. While `gate` is
// closed, Run() blocks, so tests can fill the queue deterministically.
class RecordingModel : public runtime::Model {
 public:
  absl::StatusOr<std::vector<core::Tensor>> Run(std::span<const core::Tensor> inputs) override {
    {
      std::unique_lock lock(mutex_);
      ++running_;
      opened_.wait(lock, [this] { return open_; });
      batch_rows_.push_back(inputs[0].shape[0]);
    }
    core::Tensor out = inputs[0];
    out.name = "y";
    for (float& v : out.MutableAs<float>()) v *= 2;
    return std::vector<core::Tensor>{std::move(out)};
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
  int running() {
    std::lock_guard lock(mutex_);
    return running_;
  }
  std::vector<int64_t> batch_rows() {
    std::lock_guard lock(mutex_);
    return batch_rows_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = true;
  int running_ = 0;
  std::vector<int64_t> batch_rows_;
};

std::vector<core::Tensor> Row(float value) {
  core::Tensor x = core::Tensor::Zeros("x", core::DataType::kFp32, {1, 2});
  x.MutableAs<float>()[0] = value;
  x.MutableAs<float>()[1] = value + 0.5f;
  return {x};
}

using Result = absl::StatusOr<std::vector<core::Tensor>>;

std::future<Result> Submit(DynamicBatcher& batcher, float value,
                           runtime::Model::RunOptions options = {}) {
  auto promise = std::make_shared<std::promise<Result>>();
  std::future<Result> future = promise->get_future();
  batcher.RunAsync(Row(value), options, [promise](Result r) { promise->set_value(std::move(r)); });
  return future;
}

void WaitUntil(const std::function<bool()>& condition) {
  while (!condition()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

DynamicBatcherOptions Options(int64_t max_batch, std::chrono::microseconds delay,
                              size_t queue_size = 100) {
  DynamicBatcherOptions options;
  options.queue.batching = true;
  options.queue.max_batch_size = max_batch;
  options.queue.max_queue_delay = delay;
  options.queue.max_queue_size = queue_size;
  options.instances = 1;
  return options;
}

TEST(DynamicBatcherTest, MergesQueuedRequestsAndSplitsAnswersInOrder) {
  auto model = std::make_shared<RecordingModel>();
  DynamicBatcher batcher(model, Options(4, std::chrono::milliseconds(20)));
  model->Close();
  std::vector<std::future<Result>> results;
  results.push_back(Submit(batcher, 0));  // runs alone after 20 ms, blocks in the model
  WaitUntil([&] { return model->running() == 1; });
  for (float v : {1, 2, 3, 4}) results.push_back(Submit(batcher, v));
  model->Open();
  for (size_t i = 0; i < results.size(); ++i) {
    Result r = results[i].get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ((*r)[0].shape, (core::Shape{1, 2}));
    EXPECT_EQ((*r)[0].As<float>()[0], 2.0f * static_cast<float>(i));
    EXPECT_EQ((*r)[0].As<float>()[1], 2.0f * static_cast<float>(i) + 1.0f);
  }
  EXPECT_EQ(model->batch_rows(), (std::vector<int64_t>{1, 4}));
}

// The adaptive policy starts at the model's max_batch_size (a fixed delay's
// batches until a cost has been fitted) and never goes past it: ten requests
// queued behind a running one run as 4 + 4 + 2.
TEST(DynamicBatcherTest, AdaptiveBatchingStartsAtTheMaximumAndNeverExceedsIt) {
  auto model = std::make_shared<RecordingModel>();
  DynamicBatcherOptions options = Options(4, std::chrono::microseconds(0));
  options.adaptive =
      AdaptiveBatchOptions{.latency_objective = std::chrono::seconds(10), .max_batch_size = 4};
  std::mutex mutex;
  std::vector<int64_t> limits;
  DynamicBatcherHooks hooks;
  hooks.on_limits = [&](const BatchLimits& l) {
    std::lock_guard lock(mutex);
    limits.push_back(l.max_batch_size);
  };
  DynamicBatcher batcher(model, options, hooks);
  model->Close();
  std::vector<std::future<Result>> results;
  results.push_back(Submit(batcher, 0));
  WaitUntil([&] { return model->running() == 1; });
  for (int v = 1; v <= 10; ++v) results.push_back(Submit(batcher, static_cast<float>(v)));
  model->Open();
  for (size_t i = 0; i < results.size(); ++i) {
    Result r = results[i].get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ((*r)[0].As<float>()[0], 2.0f * static_cast<float>(i));
  }
  EXPECT_EQ(model->batch_rows(), (std::vector<int64_t>{1, 4, 4, 2}));
  std::lock_guard lock(mutex);
  ASSERT_FALSE(limits.empty());
  EXPECT_EQ(limits.front(), 4);
  EXPECT_EQ(limits.back(), 4);
  for (int64_t l : limits) EXPECT_LE(l, 4);
}

TEST(DynamicBatcherTest, FullQueueRejectsAtOnce) {
  auto model = std::make_shared<RecordingModel>();
  DynamicBatcher batcher(model, Options(1, std::chrono::microseconds(0), 2));
  model->Close();
  auto running = Submit(batcher, 0);
  WaitUntil([&] { return model->running() == 1; });
  auto q1 = Submit(batcher, 1);
  auto q2 = Submit(batcher, 2);
  Result rejected = Submit(batcher, 3).get();  // answered before the model runs
  EXPECT_EQ(rejected.status().code(), absl::StatusCode::kResourceExhausted);
  model->Open();
  EXPECT_TRUE(running.get().ok());
  EXPECT_TRUE(q1.get().ok());
  EXPECT_TRUE(q2.get().ok());
}

TEST(DynamicBatcherTest, ExpiredRequestsAreAnsweredWithoutRunning) {
  auto model = std::make_shared<RecordingModel>();
  DynamicBatcher batcher(model, Options(1, std::chrono::microseconds(0)));
  model->Close();
  auto running = Submit(batcher, 0);
  WaitUntil([&] { return model->running() == 1; });
  auto expired = Submit(batcher, 1, {.deadline = Clock::now()});
  model->Open();
  EXPECT_TRUE(running.get().ok());
  EXPECT_EQ(expired.get().status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(model->batch_rows(), (std::vector<int64_t>{1}));
}

TEST(DynamicBatcherTest, ConcurrentCallersEachGetTheirOwnRows) {
  auto model = std::make_shared<RecordingModel>();
  DynamicBatcher batcher(model, Options(8, std::chrono::microseconds(200)));
  std::vector<std::thread> threads;
  std::atomic<int> wrong = 0;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const float v = static_cast<float>(t * 1000 + i);
        Result r = batcher.Run(Row(v));
        if (!r.ok() || (*r)[0].As<float>()[0] != 2 * v) ++wrong;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  int64_t rows = 0;
  for (int64_t r : model->batch_rows()) rows += r;
  EXPECT_EQ(rows, 400);
}

TEST(DynamicBatcherTest, DestructionAnswersQueuedRequests) {
  auto model = std::make_shared<RecordingModel>();
  std::future<Result> queued;
  std::future<Result> running;
  {
    DynamicBatcher batcher(model, Options(1, std::chrono::microseconds(0)));
    model->Close();
    running = Submit(batcher, 0);
    WaitUntil([&] { return model->running() == 1; });
    queued = Submit(batcher, 1);
    std::thread opener([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      model->Open();
    });
    opener.detach();
  }
  EXPECT_TRUE(running.get().ok());
  // Either it ran before the workers stopped, or it was refused: never lost.
  Result r = queued.get();
  if (!r.ok()) {
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  }
}

}  // namespace
}  // namespace strata::serving

namespace strata::serving {
namespace {

// What the saturation hooks have said so far.
struct Signals {
  std::mutex mutex;
  size_t depth = 0;
  int in_flight = 0;
  int running = 0;
  Signals() = default;
  DynamicBatcherHooks Hooks() {
    DynamicBatcherHooks hooks{.on_queue_depth =
                                  [this](size_t d) {
                                    std::lock_guard lock(mutex);
                                    depth = d;
                                  },
                              .on_in_flight =
                                  [this](int delta) {
                                    std::lock_guard lock(mutex);
                                    in_flight += delta;
                                  },
                              .on_running =
                                  [this](int delta) {
                                    std::lock_guard lock(mutex);
                                    running += delta;
                                  },
                              .on_dequeue = {},
                              .on_batch = {},
                              .on_limits = {}};
    return hooks;
  }
  std::tuple<size_t, int, int> Now() {
    std::lock_guard lock(mutex);
    return {depth, in_flight, running};
  }
};

// The saturation signals move when requests enter and leave the queue and
// when batches start, not when the requests complete: with the model
// blocked, nothing has completed, yet they already show the load.
TEST(DynamicBatcherTest, SaturationSignalsMoveBeforeAnythingCompletes) {
  auto model = std::make_shared<RecordingModel>();
  Signals signals;
  DynamicBatcher batcher(model, Options(1, std::chrono::microseconds(0)), signals.Hooks());
  model->Close();
  auto first = Submit(batcher, 0);
  WaitUntil([&] { return model->running() == 1; });
  auto second = Submit(batcher, 1);
  auto third = Submit(batcher, 2);
  EXPECT_EQ(signals.Now(), std::make_tuple(size_t{2}, 3, 1));  // depth, in flight, running
  model->Open();
  EXPECT_TRUE(first.get().ok());
  EXPECT_TRUE(second.get().ok());
  EXPECT_TRUE(third.get().ok());
  EXPECT_EQ(signals.Now(), std::make_tuple(size_t{0}, 0, 0));
}

TEST(DynamicBatcherTest, ExpiredRequestsLeaveTheInFlightCount) {
  auto model = std::make_shared<RecordingModel>();
  Signals signals;
  DynamicBatcher batcher(model, Options(1, std::chrono::microseconds(0)), signals.Hooks());
  model->Close();
  auto running = Submit(batcher, 0);
  WaitUntil([&] { return model->running() == 1; });
  auto expired = Submit(batcher, 1, {.deadline = Clock::now()});
  EXPECT_EQ(std::get<1>(signals.Now()), 2);
  model->Open();
  EXPECT_TRUE(running.get().ok());
  EXPECT_EQ(expired.get().status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(signals.Now(), std::make_tuple(size_t{0}, 0, 0));
}

// A model whose every batch takes 10 ms.
class SleepingModel : public runtime::Model {
 public:
  absl::StatusOr<std::vector<core::Tensor>> Run(std::span<const core::Tensor> inputs) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return std::vector<core::Tensor>(inputs.begin(), inputs.end());
  }
};

// With a 50 ms objective and 10 ms batches of one row, a request may queue
// behind at most about three others (0.8 · 50 ms planned); the rest of a
// burst is refused at once, without waiting for the model.
TEST(DynamicBatcherTest, AdaptiveBatchingRefusesRequestsThatWouldMissTheObjective) {
  DynamicBatcherOptions options = Options(1, std::chrono::microseconds(0));
  options.adaptive =
      AdaptiveBatchOptions{.latency_objective = std::chrono::milliseconds(50), .max_batch_size = 1};
  DynamicBatcher batcher(std::make_shared<SleepingModel>(), options);
  ASSERT_TRUE(Submit(batcher, 0).get().ok());  // the cost model's first batch
  std::vector<std::future<Result>> burst;
  for (int v = 1; v <= 10; ++v) burst.push_back(Submit(batcher, static_cast<float>(v)));
  int refused = 0, answered = 0;
  for (std::future<Result>& r : burst) {  // a refusal is answered at once
    if (r.wait_for(std::chrono::seconds(0)) != std::future_status::ready) continue;
    const Result result = r.get();
    if (result.ok()) {
      ++answered;  // admitted, and already run: a very slow test machine
      continue;
    }
    EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_NE(result.status().message().find("latency objective"), std::string_view::npos)
        << result.status();
    ++refused;
  }
  for (std::future<Result>& r : burst) {
    if (r.valid()) answered += r.get().ok() ? 1 : 0;
  }
  EXPECT_GE(refused, 5);
  EXPECT_GE(answered, 1);
  EXPECT_EQ(refused + answered, 10);
}

}  // namespace
}  // namespace strata::serving
