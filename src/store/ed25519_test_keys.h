#pragma once

// Test helper: a fresh Ed25519 key pair as PEM text, for the signer and
// verifier tests of file and Redis table versions.

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>
#include <utility>

namespace strata::store::testing {

// {private key PEM, public key PEM}.
inline std::pair<std::string, std::string> Ed25519KeyPair() {
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* kctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  EVP_PKEY_keygen_init(kctx);
  EVP_PKEY_keygen(kctx, &key);
  EVP_PKEY_CTX_free(kctx);
  auto pem = [key](bool is_private) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (is_private) {
      PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    } else {
      PEM_write_bio_PUBKEY(bio, key);
    }
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    std::string text(data, static_cast<size_t>(size));
    BIO_free(bio);
    return text;
  };
  std::pair<std::string, std::string> pair{pem(true), pem(false)};
  EVP_PKEY_free(key);
  return pair;
}

}  // namespace strata::store::testing
