#include "store/artifact_signer.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "fmt/format.h"
#include "store/artifact_verifier.h"
#include "store/table_directory.h"

namespace strata::store {
namespace {

namespace fs = std::filesystem;

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

}  // namespace

absl::StatusOr<ArtifactSigner> ArtifactSigner::WithKeyFile(const fs::path& pem_file) {
  absl::StatusOr<std::string> pem = ReadFile(pem_file);
  if (!pem.ok()) return pem.status();
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())), BIO_free);
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  unsigned char raw[32];
  size_t length = sizeof(raw);
  if (key == nullptr || EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519 ||
      EVP_PKEY_get_raw_private_key(key.get(), raw, &length) != 1) {
    return absl::InvalidArgumentError(
        fmt::format("{} is not an Ed25519 private key in PEM (openssl genpkey -algorithm "
                    "ed25519)",
                    pem_file.string()));
  }
  ArtifactSigner signer;
  signer.private_key_.assign(reinterpret_cast<const char*>(raw), length);
  return signer;
}

absl::StatusOr<std::string> ArtifactSigner::Sign(std::string_view data) const {
  std::unique_ptr<EVP_PKEY, PkeyFree> key(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(private_key_.data()),
      private_key_.size()));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  unsigned char signature[64];
  size_t length = sizeof(signature);
  if (key == nullptr || ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), signature, &length,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return absl::InternalError("Ed25519 signing failed");
  }
  return std::string(reinterpret_cast<const char*>(signature), length);
}

absl::Status ArtifactSigner::WriteSums(const fs::path& path, const std::string& sums) const {
  if (absl::Status s = WriteFileAtomically(path, sums); !s.ok()) return s;
  if (!signs()) return absl::OkStatus();
  absl::StatusOr<std::string> signature = Sign(sums);
  if (!signature.ok()) return signature.status();
  return WriteFileAtomically(path.string() + ".sig", *signature);
}

absl::Status ArtifactSigner::SignDirectory(const fs::path& dir) const {
  absl::StatusOr<std::string> sums = ChecksumsOf(dir);
  if (!sums.ok()) return sums.status();
  return WriteSums(dir / kChecksumsFile, *sums);
}

absl::Status ArtifactSigner::SignFile(const fs::path& file) const {
  absl::StatusOr<std::string> digest = Sha256OfFile(file);
  if (!digest.ok()) return digest.status();
  return WriteSums(file.string() + "." + std::string(kChecksumsFile),
                   fmt::format("{}  {}\n", *digest, file.filename().string()));
}

}  // namespace strata::store
