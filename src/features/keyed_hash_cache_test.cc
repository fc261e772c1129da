#include "features/keyed_hash_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "features/keyed_hash.h"

namespace strata::features {
namespace {

KeyedHashCache::Digest DigestOf(unsigned char first) {
  KeyedHashCache::Digest d{};
  d[0] = first;
  return d;
}

TEST(KeyedHashCacheTest, FindsWhatWasInsertedAndNothingElse) {
  KeyedHashCache cache(64);
  EXPECT_EQ(cache.Find("{\"id\":1}"), nullptr);
  cache.Insert("{\"id\":1}", DigestOf(1));
  ASSERT_NE(cache.Find("{\"id\":1}"), nullptr);
  EXPECT_EQ(*cache.Find("{\"id\":1}"), DigestOf(1));
  EXPECT_EQ(cache.Find("{\"id\":2}"), nullptr);
  EXPECT_EQ(cache.Find("{\"id\":1"), nullptr);  // a prefix is another key
  cache.Clear();
  EXPECT_EQ(cache.Find("{\"id\":1}"), nullptr);
}

TEST(KeyedHashCacheTest, NeverCachesALongKey) {
  KeyedHashCache cache(8);
  const std::string fits(KeyedHashCache::kMaxKeyBytes, 'k');
  const std::string longer(KeyedHashCache::kMaxKeyBytes + 1, 'k');
  cache.Insert(fits, DigestOf(7));
  cache.Insert(longer, DigestOf(8));
  ASSERT_NE(cache.Find(fits), nullptr);
  EXPECT_EQ(*cache.Find(fits), DigestOf(7));
  EXPECT_EQ(cache.Find(longer), nullptr);
}

// Bounded: never more entries than slots, memory fixed at construction; a
// key that lands on a taken slot evicts the entry there.
TEST(KeyedHashCacheTest, HoldsAtMostItsSlotsAndEvicts) {
  KeyedHashCache cache(100);  // rounded up to 128
  EXPECT_EQ(cache.slots(), 128u);
  const size_t bytes = cache.MemoryBytes();
  for (int i = 0; i < 10000; ++i) {
    cache.Insert("key-" + std::to_string(i), DigestOf(static_cast<unsigned char>(i)));
  }
  EXPECT_EQ(cache.MemoryBytes(), bytes);
  int held = 0;
  for (int i = 0; i < 10000; ++i) {
    const KeyedHashCache::Digest* d = cache.Find("key-" + std::to_string(i));
    if (d == nullptr) continue;
    ++held;
    EXPECT_EQ(*d, DigestOf(static_cast<unsigned char>(i)));  // never another key's digest
  }
  EXPECT_GT(held, 0);
  EXPECT_LE(held, 128);
  // The last key inserted is always held.
  EXPECT_NE(cache.Find("key-9999"), nullptr);
}

// KeyedHasher answers from its per-thread cache: the same hashes as an
// uncached HMAC (RFC 4231's vectors, via a fresh hasher whose thread state
// is new), on repeats, across evictions, and when threads hash at once.
TEST(KeyedHashCacheTest, CachedHashesAreTheUncachedOnes) {
  const KeyedHasher hasher("0123456789abcdef");
  std::vector<std::string> expected;
  for (int i = 0; i < 5000; ++i) expected.push_back(hasher.Hash("k" + std::to_string(i)));
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 5000; i += 7) {
      ASSERT_EQ(hasher.Hash("k" + std::to_string(i)), expected[i]) << i;
    }
  }
  const KeyedHasher rfc(std::string(20, '\x0b'));
  EXPECT_EQ(rfc.Hash("Hi There"), "b0344c61d8db38535ca8afceaf0bf12b");  // computed
  EXPECT_EQ(rfc.Hash("Hi There"), "b0344c61d8db38535ca8afceaf0bf12b");  // cached
}

TEST(KeyedHashCacheTest, ThreadsHashingAtOnceAgree) {
  const KeyedHasher hasher("0123456789abcdef");
  std::vector<std::string> expected;
  for (int i = 0; i < 64; ++i) expected.push_back(hasher.Hash("hot-" + std::to_string(i)));
  std::vector<int> wrong(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 2000; ++n) {
        const int i = (n * 7 + t) % 64;
        if (hasher.Hash("hot-" + std::to_string(i)) != expected[i]) ++wrong[t];
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(wrong[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace strata::features
