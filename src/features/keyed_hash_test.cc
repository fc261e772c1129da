#include "features/keyed_hash.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "fmt/format.h"

namespace strata::features {
namespace {

// RFC 4231 test cases 1 and 2, truncated to their first 16 bytes.
TEST(KeyedHasherTest, MatchesRfc4231) {
  EXPECT_EQ(KeyedHasher(std::string(20, '\x0b')).Hash("Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b");
  EXPECT_EQ(KeyedHasher("Jefe").Hash("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c7");
}

// RFC 4231 test case 6: a secret longer than SHA-256's block is hashed first.
TEST(KeyedHasherTest, MatchesRfc4231WithASecretLongerThanABlock) {
  EXPECT_EQ(KeyedHasher(std::string(131, '\xaa'))
                .Hash("Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f");
}

// OpenSSL's one-shot HMAC() of the same secret and key, as Hash() writes it.
std::string OneShotHmac(const std::string& secret, const std::string& key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest, &length);
  std::string hex;
  for (unsigned int i = 0; i < 16; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

TEST(KeyedHasherTest, EqualsOneShotHmacForAnySecretLengthFromManyThreads) {
  std::mt19937_64 random(3);
  for (size_t secret_bytes : {16u, 63u, 64u, 65u, 200u}) {
    std::string secret(secret_bytes, '\0');
    for (char& c : secret) c = static_cast<char>(random());
    const KeyedHasher hasher(secret);
    std::vector<std::thread> threads;
    std::vector<int> wrong(4, 0);
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 300; ++i) {
          const std::string key =
              std::string(static_cast<size_t>(i % 90), 'k') + std::to_string(t * 1000 + i);
          if (hasher.Hash(key) != OneShotHmac(secret, key)) ++wrong[t];
        }
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(wrong, std::vector<int>(4, 0)) << secret_bytes << "-byte secret";
  }
}

TEST(KeyedHasherTest, DependsOnTheSecretAndTheKey) {
  const KeyedHasher a("0123456789abcdef");
  EXPECT_EQ(a.Hash("user-1"), a.Hash("user-1"));
  EXPECT_NE(a.Hash("user-1"), a.Hash("user-2"));
  EXPECT_NE(a.Hash("user-1"), KeyedHasher("0123456789abcdeF").Hash("user-1"));
  EXPECT_EQ(a.Hash(std::string("\0\x01", 2)).size(), 32u);
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
