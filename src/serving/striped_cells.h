// StripedCells is a fixed set of uint64 counters that many threads add to
// without a lock and without sharing a cache line: each thread writes the
// copy of the cells in its own stripe (threads take the stripes round robin
// at their first add), and a reader sums the stripes. Adds are relaxed
// atomic increments; a read sees every add that happened before it, and
// part of the ones racing with it. Thread-safe.
#ifndef STRATA_SERVING_STRIPED_CELLS_H_
#define STRATA_SERVING_STRIPED_CELLS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace strata::serving {

// The stripe the calling thread writes, in [0, kCellStripes).
size_t ThisThreadStripe();

// Enough stripes that the server's I/O threads and a few workers seldom
// share one; each costs a cache line per eight cells.
inline constexpr size_t kCellStripes = 4;

class StripedCells {
 public:
  explicit StripedCells(size_t cells);

  size_t size() const { return cells_; }

  // Adds `n` to cell `i` (modulo 2^64). REQUIRES: i < size().
  void Add(size_t i, uint64_t n) {
    Cell(ThisThreadStripe(), i).fetch_add(n, std::memory_order_relaxed);
  }

  // The sum of cell `i` over the stripes (modulo 2^64).
  uint64_t Sum(size_t i) const;

 private:
  // Eight cells fill one 64-byte line; a stripe starts on a line of its own.
  struct alignas(64) Line {
    std::atomic<uint64_t> cell[8] = {};
  };
  std::atomic<uint64_t>& Cell(size_t stripe, size_t i) {
    return lines_[stripe * lines_per_stripe_ + i / 8].cell[i % 8];
  }
  const std::atomic<uint64_t>& Cell(size_t stripe, size_t i) const {
    return lines_[stripe * lines_per_stripe_ + i / 8].cell[i % 8];
  }

  const size_t cells_;
  const size_t lines_per_stripe_;
  std::vector<Line> lines_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_STRIPED_CELLS_H_
