#include "serving/striped_cells.h"

namespace strata::serving {

size_t ThisThreadStripe() {
  static std::atomic<size_t> next{0};
  thread_local const size_t stripe = next.fetch_add(1, std::memory_order_relaxed) % kCellStripes;
  return stripe;
}

StripedCells::StripedCells(size_t cells)
    : cells_(cells), lines_per_stripe_((cells + 7) / 8), lines_(kCellStripes * lines_per_stripe_) {}

uint64_t StripedCells::Sum(size_t i) const {
  uint64_t sum = 0;
  for (size_t stripe = 0; stripe < kCellStripes; ++stripe) {
    sum += Cell(stripe, i).load(std::memory_order_relaxed);
  }
  return sum;
}

}  // namespace strata::serving
