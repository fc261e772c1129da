#include "core/buffer_pool.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "gtest/gtest.h"

namespace strata::core {
namespace {

// Runs `f` on a new thread (whose shelf starts empty) and waits for it.
template <class F>
void OnNewThread(F f) {
  std::thread thread(std::move(f));
  thread.join();
}

// Empties the shared shelf, so a test starts from a known state.
void DrainShared() {
  OnNewThread([] {
    while (TensorDataPool::KeptShared() > 0) TensorDataPool::Take(0);
    while (BodyPool::KeptShared() > 0) BodyPool::Take(0);
  });
}

TEST(BufferPoolTest, AGivenBufferIsTakenAgainWithItsStorage) {
  DrainShared();
  OnNewThread([] {
    std::vector<uint8_t> first = TensorDataPool::Take(256);
    EXPECT_GE(first.capacity(), 256u);
    first.resize(256, 7);
    const uint8_t* storage = first.data();
    TensorDataPool::Give(std::move(first));
    EXPECT_EQ(TensorDataPool::KeptOnThisThread(), 1u);

    std::vector<uint8_t> again = TensorDataPool::Take(100);
    EXPECT_EQ(again.data(), storage);
    EXPECT_TRUE(again.empty());  // emptied: nothing of the last request shows
    EXPECT_GE(again.capacity(), 256u);
    EXPECT_EQ(TensorDataPool::KeptOnThisThread(), 0u);
  });
}

TEST(BufferPoolTest, ABufferTooSmallIsLeftForLaterAndANewOneMade) {
  DrainShared();
  OnNewThread([] {
    std::vector<uint8_t> small = TensorDataPool::Take(64);
    const uint8_t* small_storage = small.data();
    TensorDataPool::Give(std::move(small));

    std::vector<uint8_t> large = TensorDataPool::Take(1000);
    EXPECT_NE(large.data(), small_storage);
    EXPECT_GE(large.capacity(), 1000u);
    EXPECT_EQ(TensorDataPool::KeptOnThisThread(), 1u);
  });
}

TEST(BufferPoolTest, ABufferOverTheCapIsFreedNotKept) {
  DrainShared();
  OnNewThread([] {
    std::vector<uint8_t> huge = TensorDataPool::Take(TensorDataPool::kMaxBytes + 1);
    EXPECT_GE(huge.capacity(), TensorDataPool::kMaxBytes + 1);
    TensorDataPool::Give(std::move(huge));
    EXPECT_EQ(TensorDataPool::KeptOnThisThread(), 0u);
    EXPECT_EQ(TensorDataPool::KeptShared(), 0u);
  });
}

TEST(BufferPoolTest, TheShelvesHoldABoundedNumberWhateverIsGiven) {
  DrainShared();
  OnNewThread([] {
    for (size_t i = 0; i < TensorDataPool::kPerThread + TensorDataPool::kShared + 10; ++i) {
      TensorDataPool::Give(std::vector<uint8_t>(128));
    }
    EXPECT_EQ(TensorDataPool::KeptOnThisThread(), TensorDataPool::kPerThread);
    EXPECT_EQ(TensorDataPool::KeptShared(), TensorDataPool::kShared);
  });
  DrainShared();
}

TEST(BufferPoolTest, ABufferGivenOnAnotherThreadComesBackThroughTheSharedShelf) {
  DrainShared();
  const uint8_t* given = nullptr;
  OnNewThread([&] {
    // This thread's shelf is full, so the next buffer goes to the shared one.
    for (size_t i = 0; i < TensorDataPool::kPerThread; ++i) {
      TensorDataPool::Give(std::vector<uint8_t>(64));
    }
    std::vector<uint8_t> buffer(512);
    given = buffer.data();
    TensorDataPool::Give(std::move(buffer));
    EXPECT_EQ(TensorDataPool::KeptShared(), 1u);
  });
  OnNewThread([&] {
    std::vector<uint8_t> taken = TensorDataPool::Take(512);
    EXPECT_EQ(taken.data(), given);
    EXPECT_EQ(TensorDataPool::KeptShared(), 0u);
  });
}

TEST(BufferPoolTest, ATensorOutlivingTheThreadThatFilledItKeepsItsData) {
  // As a batched or shadowed request's inputs do: the pool hands out owning
  // buffers, so nothing the pool does later touches them.
  Tensor kept;
  OnNewThread([&] {
    Tensor tensor{"x", DataType::kFp32, {1, 4}, TensorDataPool::Take(16)};
    for (float v : {1.0f, 2.0f, 3.0f, 4.0f}) {
      const auto* bytes = reinterpret_cast<const uint8_t*>(&v);
      tensor.data.insert(tensor.data.end(), bytes, bytes + sizeof(v));
    }
    kept = tensor;  // a shadow's copy
    std::vector<Tensor> request{std::move(tensor)};
    RecycleTensorData(request);  // the request ends; its buffer goes back
    EXPECT_TRUE(request[0].data.empty());
    EXPECT_EQ(request[0].name, "x");
    EXPECT_EQ(request[0].shape, (Shape{1, 4}));
    std::vector<uint8_t> reused = TensorDataPool::Take(16);
    reused.assign(16, 0xff);  // the next request overwrites the recycled storage
  });
  ASSERT_EQ(kept.As<float>().size(), 4u);
  EXPECT_EQ(kept.As<float>()[3], 4.0f);
}

// Producers give buffers (their own shelves fill, the surplus goes to the
// shared one) while consumers take them: no buffer is ever held by two
// threads at once, and the shared shelf stays within its bound. Run under
// ThreadSanitizer too (buffer_pool_tsan_test).
TEST(BufferPoolTest, ThreadsGivingAndTakingConcurrentlyNeverShareABuffer) {
  DrainShared();
  std::atomic<bool> shared_buffer{false};
  std::vector<std::thread> threads;
  for (uint8_t id = 1; id <= 4; ++id) {
    threads.emplace_back([id, &shared_buffer] {
      for (int i = 0; i < 2000; ++i) {
        if (id % 2 == 0) {
          TensorDataPool::Give(std::vector<uint8_t>(128 + i % 64));
          continue;
        }
        std::vector<uint8_t> taken = TensorDataPool::Take(128);
        taken.assign(128, id);
        std::this_thread::yield();
        if (std::any_of(taken.begin(), taken.end(), [id](uint8_t b) { return b != id; })) {
          shared_buffer = true;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_FALSE(shared_buffer.load());
  EXPECT_LE(TensorDataPool::KeptShared(), TensorDataPool::kShared);
  DrainShared();
}

TEST(BufferPoolTest, ATinyBufferIsNotKeptAndNewBuffersAreMadeLargeEnoughToBe) {
  DrainShared();
  OnNewThread([] {
    std::vector<uint8_t> tiny(4);  // a one-element output, made elsewhere
    TensorDataPool::Give(std::move(tiny));
    EXPECT_EQ(TensorDataPool::KeptOnThisThread(), 0u);
    std::vector<uint8_t> small = TensorDataPool::Take(8);
    EXPECT_GE(small.capacity(), TensorDataPool::kMinBytes);
    TensorDataPool::Give(std::move(small));
    EXPECT_EQ(TensorDataPool::KeptOnThisThread(), 1u);
  });
}

TEST(BufferPoolTest, AShortStringHoldsNoStorageAndIsNotKept) {
  DrainShared();
  OnNewThread([] {
    BodyPool::Give(std::string("ok"));
    EXPECT_EQ(BodyPool::KeptOnThisThread(), 0u);
    std::string body = BodyPool::Take(300);
    body.assign(300, 'x');
    const char* storage = body.data();
    BodyPool::Give(std::move(body));
    EXPECT_EQ(BodyPool::KeptOnThisThread(), 1u);
    EXPECT_EQ(BodyPool::Take(10).data(), storage);
  });
}

}  // namespace
}  // namespace strata::core
