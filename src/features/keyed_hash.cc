#include "features/keyed_hash.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>

#include "features/keyed_hash_cache.h"
#include "fmt/format.h"

namespace strata::features {

// Each thread that hashes keeps this many recent keys (KeyedHashCache:
// 80 bytes a slot, 160 KiB a thread).
constexpr size_t kCachedKeysPerThread = 2048;

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

  // The first 16 bytes of HMAC-SHA256(secret, key), from this thread's
  // cache when the key was hashed lately; false on failure.
  bool Mac16(std::string_view key, KeyedHashCache::Digest& digest) const {
    ThreadState& state = ThisThread();
    if (const KeyedHashCache::Digest* cached = state.cache.Find(key)) {
      digest = *cached;
      return true;
    }
    unsigned char full[EVP_MAX_MD_SIZE];
    size_t length = 0;
    if (state.ctx == nullptr || EVP_MAC_init(state.ctx, nullptr, 0, nullptr) != 1 ||
        EVP_MAC_update(state.ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size()) !=
            1 ||
        EVP_MAC_final(state.ctx, full, &length, sizeof(full)) != 1 || length < digest.size()) {
      return false;
    }
    std::copy(full, full + digest.size(), digest.begin());
    state.cache.Insert(key, digest);
    return true;
  }

 private:
  explicit Prepared(EVP_MAC_CTX* keyed) : keyed_(keyed), id_(NextId()) {}

  static uint64_t NextId() {
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1);
  }

  // This thread's copy of the keyed context and its cache of recent keys
  // (one secret at a time: a thread that alternates secrets copies again
  // and starts an empty cache, so a digest never outlives its secret).
  struct ThreadState {
    uint64_t id = 0;
    EVP_MAC_CTX* ctx = nullptr;
    KeyedHashCache cache{kCachedKeysPerThread};
    ~ThreadState() { EVP_MAC_CTX_free(ctx); }
  };

  ThreadState& ThisThread() const {
    thread_local ThreadState state;
    if (state.id != id_) {
      EVP_MAC_CTX_free(state.ctx);
      state.ctx = EVP_MAC_CTX_dup(keyed_);
      state.id = state.ctx == nullptr ? 0 : id_;
      state.cache.Clear();
    }
    return state;
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
  KeyedHashCache::Digest digest;
  if (!prepared_ || !prepared_->Mac16(key, digest)) {  // not prepared: the one-shot call
    unsigned char full[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
         reinterpret_cast<const unsigned char*>(key.data()), key.size(), full, &length);
    std::copy(full, full + digest.size(), digest.begin());
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(2 * digest.size(), '0');
  for (size_t i = 0; i < digest.size(); ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return hex;
}

}  // namespace strata::features
