#include "features/keyed_hash.h"

#include <openssl/evp.h>

#include <fstream>
#include <sstream>

#include "fmt/format.h"

namespace strata::features {

// The shortest secret FromFile() accepts.
constexpr size_t kMinSecretBytes = 16;

absl::StatusOr<KeyedHasher> KeyedHasher::FromFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("cannot read the hash secret {}", file.string()));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  std::string secret = bytes.str();
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.size() < kMinSecretBytes) {
    return absl::InvalidArgumentError(fmt::format("hash secret {}: {} bytes, need at least {}",
                                                  file.string(), secret.size(), kMinSecretBytes));
  }
  return KeyedHasher(std::move(secret));
}

namespace {

constexpr size_t kBlockBytes = 64;   // SHA-256's block
constexpr size_t kDigestBytes = 32;  // and digest

struct DigestContextFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using DigestContext = std::unique_ptr<EVP_MD_CTX, DigestContextFree>;

// A SHA-256 state that has absorbed the secret (padded to a block) XOR `pad`.
DigestContext PaddedState(const std::string& block, unsigned char pad) {
  unsigned char padded[kBlockBytes];
  for (size_t i = 0; i < kBlockBytes; ++i) {
    padded[i] = static_cast<unsigned char>(block[i]) ^ pad;
  }
  DigestContext c(EVP_MD_CTX_new());
  EVP_DigestInit_ex(c.get(), EVP_sha256(), nullptr);
  EVP_DigestUpdate(c.get(), padded, kBlockBytes);
  return c;
}

}  // namespace

struct KeyedHasher::Pads {
  DigestContext inner;
  DigestContext outer;
};

KeyedHasher::KeyedHasher(std::string secret) {
  // RFC 2104: a secret longer than a block is hashed first; then zero-padded.
  std::string block = std::move(secret);
  if (block.size() > kBlockBytes) {
    unsigned char digest[kDigestBytes];
    EVP_Digest(block.data(), block.size(), digest, nullptr, EVP_sha256(), nullptr);
    block.assign(reinterpret_cast<const char*>(digest), kDigestBytes);
  }
  block.resize(kBlockBytes, '\0');
  auto pads = std::make_shared<Pads>();
  pads->inner = PaddedState(block, 0x36);
  pads->outer = PaddedState(block, 0x5c);
  pads_ = std::move(pads);
}

std::string KeyedHasher::Hash(std::string_view key) const {
  // One work state per thread, reused: copying into it allocates nothing.
  thread_local DigestContext work(EVP_MD_CTX_new());
  unsigned char digest[kDigestBytes];
  EVP_MD_CTX_copy_ex(work.get(), pads_->inner.get());
  EVP_DigestUpdate(work.get(), key.data(), key.size());
  EVP_DigestFinal_ex(work.get(), digest, nullptr);
  EVP_MD_CTX_copy_ex(work.get(), pads_->outer.get());
  EVP_DigestUpdate(work.get(), digest, kDigestBytes);
  EVP_DigestFinal_ex(work.get(), digest, nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(32);
  for (unsigned int i = 0; i < 16; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

}  // namespace strata::features
