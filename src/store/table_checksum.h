// TableChecksum is an order-independent checksum of a table's (key, value)
// records: the sums of two 64-bit hashes of every record, and the count. Two
// tables with the same records have the same checksum however they were
// written (in shards, resumed, or scanned out of order). Not thread-safe;
// combine per-thread checksums with Merge().
#ifndef STRATA_STORE_TABLE_CHECKSUM_H_
#define STRATA_STORE_TABLE_CHECKSUM_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace strata::store {

class TableChecksum {
 public:
  void Add(std::string_view key, std::string_view value);
  void Merge(const TableChecksum& other);

  int64_t count() const { return count_; }
  // "<count>:<32 hex digits>"
  std::string ToString() const;

  // A 64-bit hash of `data` (FNV-1a, then a splitmix64 finalizer), seeded.
  static uint64_t Hash(std::string_view data, uint64_t seed);

 private:
  uint64_t sum_a_ = 0;
  uint64_t sum_b_ = 0;
  int64_t count_ = 0;
};

}  // namespace strata::store

#endif  // STRATA_STORE_TABLE_CHECKSUM_H_
