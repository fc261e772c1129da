#include "features/keyed_hash.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <fstream>
#include <sstream>

#include "fmt/format.h"

namespace strata::features {

// The secret's HMAC-SHA256 context, keyed once; each thread hashes with its
// own copy of it (re-initialised per key without the key, which reuses the
// keyed pads). `id` tells the copies of different secrets apart even when a
// Prepared's address is reused.
class KeyedHasher::Prepared {
 public:
  static std::shared_ptr<const Prepared> Create(const std::string& secret) {
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) return nullptr;
    EVP_MAC_CTX* keyed = EVP_MAC_CTX_new(mac);
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (keyed == nullptr ||
        EVP_MAC_init(keyed, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                     params) != 1) {
      EVP_MAC_CTX_free(keyed);
      return nullptr;
    }
    return std::shared_ptr<const Prepared>(new Prepared(keyed));
  }
  ~Prepared() { EVP_MAC_CTX_free(keyed_); }

  // HMAC-SHA256(secret, key) into `digest`; its length, 0 on failure.
  size_t Mac(std::string_view key, unsigned char* digest, size_t capacity) const {
    EVP_MAC_CTX* ctx = ThreadCopy();
    size_t length = 0;
    if (ctx == nullptr || EVP_MAC_init(ctx, nullptr, 0, nullptr) != 1 ||
        EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size()) != 1 ||
        EVP_MAC_final(ctx, digest, &length, capacity) != 1) {
      return 0;
    }
    return length;
  }

 private:
  explicit Prepared(EVP_MAC_CTX* keyed) : keyed_(keyed), id_(NextId()) {}

  static uint64_t NextId() {
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1);
  }

  // This thread's copy of the keyed context (one secret at a time: a
  // thread that alternates secrets copies again).
  EVP_MAC_CTX* ThreadCopy() const {
    struct Copy {
      uint64_t id = 0;
      EVP_MAC_CTX* ctx = nullptr;
      ~Copy() { EVP_MAC_CTX_free(ctx); }
    };
    thread_local Copy copy;
    if (copy.id != id_) {
      EVP_MAC_CTX_free(copy.ctx);
      copy.ctx = EVP_MAC_CTX_dup(keyed_);
      copy.id = copy.ctx == nullptr ? 0 : id_;
    }
    return copy.ctx;
  }

  EVP_MAC_CTX* const keyed_;
  const uint64_t id_;
};

KeyedHasher::KeyedHasher(std::string secret)
    : secret_(std::move(secret)), prepared_(Prepared::Create(secret_)) {}

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

std::string KeyedHasher::Hash(std::string_view key) const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  size_t length = prepared_ ? prepared_->Mac(key, digest, sizeof(digest)) : 0;
  if (length == 0) {  // not prepared: the one-shot call
    unsigned int one_shot = 0;
    HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
         reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest, &one_shot);
    length = one_shot;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(32);
  for (size_t i = 0; i < 16 && i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

}  // namespace strata::features
