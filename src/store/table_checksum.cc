#include "store/table_checksum.h"

#include "fmt/format.h"

namespace strata::store {
namespace {

uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t Fnv(std::string_view data, uint64_t h) {
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

uint64_t TableChecksum::Hash(std::string_view data, uint64_t seed) {
  return Mix(Fnv(data, 0xcbf29ce484222325ULL ^ Mix(seed)));
}

void TableChecksum::Add(std::string_view key, std::string_view value) {
  // The key's length separates key from value: ("ab","c") != ("a","bc").
  const uint64_t ka = Hash(key, key.size());
  const uint64_t kb = Hash(key, ~uint64_t{key.size()});
  sum_a_ += Mix(ka ^ Hash(value, 1));
  sum_b_ += Mix(kb ^ Hash(value, 2));
  ++count_;
}

void TableChecksum::Merge(const TableChecksum& other) {
  sum_a_ += other.sum_a_;
  sum_b_ += other.sum_b_;
  count_ += other.count_;
}

std::string TableChecksum::ToString() const {
  return fmt::format("{}:{:016x}{:016x}", count_, sum_a_, sum_b_);
}

}  // namespace strata::store
