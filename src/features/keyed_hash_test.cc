#include "features/keyed_hash.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

namespace strata::features {
namespace {

// RFC 4231 test cases 1 and 2, truncated to their first 16 bytes.
TEST(KeyedHasherTest, MatchesRfc4231) {
  EXPECT_EQ(KeyedHasher(std::string(20, '\x0b')).Hash("Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b");
  EXPECT_EQ(KeyedHasher("Jefe").Hash("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c7");
}

TEST(KeyedHasherTest, DependsOnTheSecretAndTheKey) {
  const KeyedHasher a("0123456789abcdef");
  EXPECT_EQ(a.Hash("user-1"), a.Hash("user-1"));
  EXPECT_NE(a.Hash("user-1"), a.Hash("user-2"));
  EXPECT_NE(a.Hash("user-1"), KeyedHasher("0123456789abcdeF").Hash("user-1"));
  EXPECT_EQ(a.Hash(std::string("\0\x01", 2)).size(), 32u);
}

// Each thread keeps a copy of one secret's keyed state: alternating secrets
// on one thread, a secret created after another was destroyed (possibly at
// the same address), copies, and other threads must all hash with their own
// secret.
TEST(KeyedHasherTest, ThreadCopiesNeverMixSecrets) {
  const std::string one = KeyedHasher("Jefe").Hash("what do ya want for nothing?");
  const std::string two = KeyedHasher(std::string(20, '\x0b')).Hash("what do ya want for nothing?");
  ASSERT_NE(one, two);
  const KeyedHasher a("Jefe");
  const KeyedHasher b(std::string(20, '\x0b'));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a.Hash("what do ya want for nothing?"), one);
    EXPECT_EQ(b.Hash("what do ya want for nothing?"), two);
  }
  for (int i = 0; i < 3; ++i) {
    const KeyedHasher fresh(i % 2 == 0 ? "Jefe" : std::string(20, '\x0b'));
    EXPECT_EQ(fresh.Hash("what do ya want for nothing?"), i % 2 == 0 ? one : two);
  }
  const KeyedHasher copy = a;
  std::string from_thread;
  std::thread([&] { from_thread = copy.Hash("what do ya want for nothing?"); }).join();
  EXPECT_EQ(from_thread, one);
}

TEST(KeyedHasherTest, FromFileDropsTheTrailingNewline) {
  const std::string path = ::testing::TempDir() + "/hash_secret";
  std::ofstream(path) << "0123456789abcdef\n";
  auto hasher = KeyedHasher::FromFile(path);
  ASSERT_TRUE(hasher.ok()) << hasher.status();
  EXPECT_EQ(hasher->Hash("k"), KeyedHasher("0123456789abcdef").Hash("k"));
  std::ofstream(path) << "short\n";
  EXPECT_EQ(KeyedHasher::FromFile(path).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KeyedHasher::FromFile("/nonexistent/secret").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace strata::features
