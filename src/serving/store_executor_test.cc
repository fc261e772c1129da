#include "serving/store_executor.h"

#include <atomic>
#include <future>
#include <memory>
#include <thread>

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

TEST(StoreExecutorTest, RunsTasksOnItsOwnThreads) {
  StoreExecutor executor({.threads = 2, .max_queue = 8});
  std::promise<std::thread::id> ran;
  ASSERT_TRUE(executor.Submit([&] { ran.set_value(std::this_thread::get_id()); }));
  EXPECT_NE(ran.get_future().get(), std::this_thread::get_id());
}

TEST(StoreExecutorTest, AFullQueueRefusesAtOnceAndStopRunsWhatWasQueued) {
  StoreExecutor executor({.threads = 1, .max_queue = 2});
  std::promise<void> started, release;
  std::shared_future<void> released = release.get_future().share();
  ASSERT_TRUE(executor.Submit([&] {
    started.set_value();
    released.wait();  // the one thread is busy, as with a hung store
  }));
  started.get_future().wait();
  std::atomic<int> ran = 0;
  EXPECT_TRUE(executor.Submit([&] { ++ran; }));
  EXPECT_TRUE(executor.Submit([&] { ++ran; }));
  EXPECT_EQ(executor.queued(), 2u);
  EXPECT_FALSE(executor.Submit([&] { ran += 100; }));  // refused, never run
  release.set_value();
  executor.Stop();
  EXPECT_EQ(ran.load(), 2);
  EXPECT_FALSE(executor.Submit([&] { ran += 100; }));  // stopped
}

TEST(StoreExecutorTest, ATaskMayDropTheExecutorsLastOwner) {
  auto executor = std::make_shared<StoreExecutor>(StoreExecutorOptions{.threads = 1});
  std::promise<void> done;
  std::weak_ptr<StoreExecutor> weak = executor;
  ASSERT_TRUE(executor->Submit([owner = executor, &done]() mutable {
    owner.reset();  // not the last yet: the test still holds one
    done.set_value();
  }));
  done.get_future().wait();
  // The last owner goes on a worker thread: hand it over and let go here.
  std::promise<void> gone;
  ASSERT_TRUE(executor->Submit([owner = std::move(executor), &gone]() mutable {
    owner.reset();
    gone.set_value();
  }));
  gone.get_future().wait();
  while (!weak.expired()) std::this_thread::yield();
}

}  // namespace
}  // namespace strata::serving
