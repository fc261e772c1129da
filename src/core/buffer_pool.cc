#include "core/buffer_pool.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <utility>

#include "core/mutex.h"

namespace strata::core {
namespace {

// At most N buffers, the most recently given on top.
template <class Buffer, size_t N>
class Shelf {
 public:
  // Moves into `out` the topmost buffer with capacity for `bytes`.
  bool Take(size_t bytes, Buffer& out) {
    for (size_t i = count_; i-- > 0;) {
      if (buffers_[i].capacity() < bytes) continue;
      out = std::move(buffers_[i]);
      if (i != count_ - 1) buffers_[i] = std::move(buffers_[count_ - 1]);
      buffers_[--count_] = Buffer();
      return true;
    }
    return false;
  }
  // False when full; `buffer` is then left as it was.
  bool Put(Buffer& buffer) {
    if (count_ == N) return false;
    buffers_[count_++] = std::move(buffer);
    return true;
  }
  size_t count() const { return count_; }

 private:
  std::array<Buffer, N> buffers_;
  size_t count_ = 0;
};

// This thread's shelf. `gone` is set when the thread's objects are being
// destroyed (the main thread's at exit), so that a buffer given back later
// is freed instead of put on a destroyed shelf.
template <class Buffer>
struct ThreadShelf {
  ~ThreadShelf() { gone = true; }
  Shelf<Buffer, BufferPool<Buffer>::kPerThread> shelf;
  static thread_local bool gone;
};
template <class Buffer>
thread_local bool ThreadShelf<Buffer>::gone = false;

template <class Buffer>
Shelf<Buffer, BufferPool<Buffer>::kPerThread>* ThisThread() {
  if (ThreadShelf<Buffer>::gone) return nullptr;
  thread_local ThreadShelf<Buffer> shelf;
  return &shelf.shelf;
}

// The shelf every thread shares. Never destroyed: threads may still give
// buffers back while static objects are destroyed at exit.
template <class Buffer>
class SharedShelf {
 public:
  static SharedShelf& Get() {
    static auto* shared = new SharedShelf();
    return *shared;
  }
  bool Take(size_t bytes, Buffer& out) {
    if (count_.load(std::memory_order_relaxed) == 0) return false;  // a hint: no lock
    MutexLock lock(mutex_);
    const bool taken = shelf_.Take(bytes, out);
    count_.store(shelf_.count(), std::memory_order_relaxed);
    return taken;
  }
  bool Put(Buffer& buffer) {
    if (count_.load(std::memory_order_relaxed) == BufferPool<Buffer>::kShared) return false;
    MutexLock lock(mutex_);
    const bool put = shelf_.Put(buffer);
    count_.store(shelf_.count(), std::memory_order_relaxed);
    return put;
  }
  size_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  Mutex mutex_;
  Shelf<Buffer, BufferPool<Buffer>::kShared> shelf_ ABSL_GUARDED_BY(mutex_);
  std::atomic<size_t> count_{0};
};

}  // namespace

template <class Buffer>
Buffer BufferPool<Buffer>::Take(size_t bytes) {
  Buffer buffer;
  if (bytes <= kMaxBytes) {
    auto* local = ThisThread<Buffer>();
    if (local != nullptr && local->Take(bytes, buffer)) return buffer;
    if (SharedShelf<Buffer>::Get().Take(bytes, buffer)) return buffer;
  }
  buffer.reserve(std::max(bytes, kMinBytes));
  return buffer;
}

template <class Buffer>
void BufferPool<Buffer>::Give(Buffer buffer) {
  if (buffer.capacity() < kMinBytes || buffer.capacity() > kMaxBytes) return;
  buffer.clear();
  auto* local = ThisThread<Buffer>();
  if (local != nullptr && local->Put(buffer)) return;
  SharedShelf<Buffer>::Get().Put(buffer);  // when full, `buffer` is freed here
}

template <class Buffer>
size_t BufferPool<Buffer>::KeptOnThisThread() {
  auto* local = ThisThread<Buffer>();
  return local == nullptr ? 0 : local->count();
}

template <class Buffer>
size_t BufferPool<Buffer>::KeptShared() {
  return SharedShelf<Buffer>::Get().count();
}

template class BufferPool<std::vector<uint8_t>>;
template class BufferPool<std::string>;

void RecycleTensorData(std::vector<Tensor>& tensors) {
  for (Tensor& tensor : tensors) TensorDataPool::Give(std::move(tensor.data));
}

}  // namespace strata::core
