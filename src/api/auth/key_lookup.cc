#include "api/auth/key_lookup.h"

#include "openssl/crypto.h"

namespace strata::api::auth {

KeyLookup::~KeyLookup() {
  // The remembered tokens are secrets: not left behind in freed memory.
  core::WriterMutexLock lock(mutex_);
  for (auto& entry : matched_) {
    OPENSSL_cleanse(const_cast<char*>(entry.first.data()), entry.first.size());
  }
}

bool KeyLookup::TokenEq::operator()(std::string_view a, std::string_view b) const {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

const ApiKey* KeyLookup::Find(std::string_view token) const {
  {
    core::ReaderMutexLock lock(mutex_);
    if (auto found = matched_.find(token); found != matched_.end()) {
      return &keys_.keys[found->second];
    }
  }
  const ApiKey* key = Compare(token);
  if (key == nullptr) return nullptr;
  core::WriterMutexLock lock(mutex_);
  // One token per key (two secrets with one SHA-256 are not expected), so
  // the table is bounded by the key set.
  if (matched_.size() < keys_.keys.size()) {
    matched_.try_emplace(std::string(token), static_cast<size_t>(key - keys_.keys.data()));
  }
  return key;
}

const ApiKey* KeyLookup::Compare(std::string_view token) const {
  const Digest presented = Sha256(token);
  const ApiKey* found = nullptr;
  for (const ApiKey& key : keys_.keys) {
    // Every key is compared, whatever matched before: the time taken does
    // not tell which key, or how much of a hash, matched.
    const bool equal = DigestsEqual(presented, key.secret_sha256);
    if (equal && found == nullptr) found = &key;
  }
  return found;
}

size_t KeyLookup::remembered() const {
  core::ReaderMutexLock lock(mutex_);
  return matched_.size();
}

}  // namespace strata::api::auth
