// BufferPool keeps emptied buffers (a tensor's byte vector, a response
// body's string) for later requests to reuse: in steady state a request's
// decoded inputs, its model's outputs and its response body are built in
// storage an earlier request gave back, instead of taken from the heap.
//
// Each thread keeps a few buffers of its own (no synchronization). A thread
// with none takes from, and a thread with a full shelf gives to, a small
// shared shelf behind a mutex, so a buffer taken on one thread and given back
// on another (decoded on an I/O thread, released on a batcher's worker)
// still comes back. Memory stays bounded whatever a client sends: a buffer
// whose capacity is over kMaxBytes is freed, never kept, and each shelf
// holds a fixed number of buffers.
//
// A taken buffer is an ordinary owning std::vector or std::string: a tensor
// that outlives its request (queued in a batch, copied for a shadow, held by
// the payload log) simply keeps it. Only the code that ends a buffer's use
// gives it back (Give, RecycleTensorData); a buffer that is never given back
// is freed as usual. Thread-safe.
#ifndef STRATA_CORE_BUFFER_POOL_H_
#define STRATA_CORE_BUFFER_POOL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace strata::core {

template <class Buffer>
class BufferPool {
 public:
  // A buffer with a larger capacity is freed when given back.
  static constexpr size_t kMaxBytes = size_t{64} << 10;
  // Nor is one with a smaller capacity kept (a few bytes: a short string's
  // inline buffer, a one-element output): every kept buffer fits any small
  // request, and Take makes new buffers at least this large.
  static constexpr size_t kMinBytes = 64;
  // Buffers kept per thread, and on the shared shelf.
  static constexpr size_t kPerThread = 4;
  static constexpr size_t kShared = 32;

  // An empty buffer with capacity for at least `bytes`: a kept one when one
  // is large enough (this thread's first, then the shared shelf's), else a
  // new one reserved to max(`bytes`, kMinBytes).
  static Buffer Take(size_t bytes);

  // Keeps `buffer`, emptied, for a later Take; frees it when its capacity is
  // under kMinBytes or over kMaxBytes, or when both shelves are full.
  static void Give(Buffer buffer);

  // Buffers kept now on the calling thread's shelf, and on the shared one.
  static size_t KeptOnThisThread();
  static size_t KeptShared();
};

extern template class BufferPool<std::vector<uint8_t>>;
extern template class BufferPool<std::string>;

// Tensor data (Tensor::data).
using TensorDataPool = BufferPool<std::vector<uint8_t>>;
// Response bodies.
using BodyPool = BufferPool<std::string>;

// Gives each tensor's data to the TensorDataPool; the tensors keep their
// names, datatypes and shapes, with empty data. For the code that ends the
// tensors' use: after the model ran on them, after the response is encoded.
void RecycleTensorData(std::vector<Tensor>& tensors);

}  // namespace strata::core

#endif  // STRATA_CORE_BUFFER_POOL_H_
