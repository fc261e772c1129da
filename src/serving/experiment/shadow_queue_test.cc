#include "serving/experiment/shadow_queue.h"

#include <atomic>
#include <future>

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

// A full queue drops what is offered and returns at once, while its one
// job is held; what was queued runs once the job is released.
TEST(ShadowQueueTest, DropsWhenFullWithoutBlocking) {
  ShadowQueue queue(2);
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> ran{0};
  ASSERT_TRUE(queue.TryPush([&] {
    started.set_value();
    released.wait();
    ++ran;
  }));
  started.get_future().wait();  // the worker holds the first job now
  EXPECT_TRUE(queue.TryPush([&] { ++ran; }));
  EXPECT_TRUE(queue.TryPush([&] { ++ran; }));
  // The held job only finishes once released below: were an offer to wait
  // for room, this loop would never end.
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(queue.TryPush([&] { ran += 100; }));
  EXPECT_EQ(queue.dropped(), 100u);
  std::promise<void> last;
  release.set_value();
  while (!queue.TryPush([&] { last.set_value(); })) {
  }
  last.get_future().wait();
  EXPECT_EQ(ran.load(), 3);
}

TEST(ShadowQueueTest, StopRefusesNewJobs) {
  ShadowQueue queue(1);
  queue.Stop();
  EXPECT_FALSE(queue.TryPush([] {}));
  EXPECT_EQ(queue.dropped(), 1u);
}

}  // namespace
}  // namespace strata::serving
