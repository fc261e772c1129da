// ArtifactSigner writes the checksums (and, with a private key, the
// signature) that store::ArtifactVerifier checks: `SHA256SUMS` in a
// version directory, as `sha256sum` writes it, and `SHA256SUMS.sig`, the
// raw Ed25519 signature of that file (what `openssl pkeyutl -sign -rawin`
// writes). `strata batch` signs the table versions and files it produces
// with it (`--signing-key`). Thread-safe.
#ifndef STRATA_STORE_ARTIFACT_SIGNER_H_
#define STRATA_STORE_ARTIFACT_SIGNER_H_

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace strata::store {

class ArtifactSigner {
 public:
  // Checksums only, no signature.
  ArtifactSigner() = default;
  // With an Ed25519 private key (PEM, `openssl genpkey -algorithm ed25519`);
  // INVALID_ARGUMENT when the file is not one.
  static absl::StatusOr<ArtifactSigner> WithKeyFile(const std::filesystem::path& pem_file);

  // Writes `dir`/SHA256SUMS listing every file under `dir` (store::ChecksumsOf),
  // and SHA256SUMS.sig when there is a key.
  absl::Status SignDirectory(const std::filesystem::path& dir) const;

  // Writes `file`.SHA256SUMS (one line naming the file by its name) and
  // `file`.SHA256SUMS.sig when there is a key: `sha256sum -c` checks it in
  // the file's directory.
  absl::Status SignFile(const std::filesystem::path& file) const;

  bool signs() const { return !private_key_.empty(); }

  // The Ed25519 signature of `data`; error when signing fails (or when
  // there is no key).
  absl::StatusOr<std::string> Sign(std::string_view data) const;

 private:
  // Writes `sums` to `path` and its signature to `path`.sig when signing.
  absl::Status WriteSums(const std::filesystem::path& path, const std::string& sums) const;

  std::string private_key_;  // raw 32 bytes; empty: no signature
};

}  // namespace strata::store

#endif  // STRATA_STORE_ARTIFACT_SIGNER_H_
