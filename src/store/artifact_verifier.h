// ArtifactVerifier checks a version directory (a model version or a table
// version) against the checksums it carries before it is loaded: a
// `SHA256SUMS` file in the directory, in the form `sha256sum` writes
// (`<64 hex>  <relative path>` per line), and, when a trusted Ed25519 public
// key is configured, the detached signature of that file, `SHA256SUMS.sig`
// (as `openssl pkeyutl -sign -rawin` writes it). SHA-256 and Ed25519 come
// from OpenSSL's libcrypto. Thread-safe (const after construction).
#ifndef STRATA_STORE_ARTIFACT_VERIFIER_H_
#define STRATA_STORE_ARTIFACT_VERIFIER_H_

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace strata::store {

inline constexpr std::string_view kChecksumsFile = "SHA256SUMS";
inline constexpr std::string_view kSignatureFile = "SHA256SUMS.sig";

// One line of a SHA256SUMS file.
struct FileChecksum {
  std::string sha256;  // 64 lowercase hex digits
  std::string path;    // relative to the version directory
};

// Parses SHA256SUMS text. INVALID_ARGUMENT for a malformed line, or a path
// that is absolute or climbs out of the directory (`..`).
absl::StatusOr<std::vector<FileChecksum>> ParseChecksums(std::string_view text);

// The SHA-256 of `data` / of a file's bytes, as 64 lowercase hex digits.
std::string Sha256Hex(std::string_view data);
absl::StatusOr<std::string> Sha256OfFile(const std::filesystem::path& path);

// SHA256SUMS text listing every regular file under `dir` (sorted), except
// SHA256SUMS and its signature: what `strata model checksum` writes.
absl::StatusOr<std::string> ChecksumsOf(const std::filesystem::path& dir);

class ArtifactVerifier {
 public:
  // Checksums only: a directory without SHA256SUMS is accepted as it is.
  ArtifactVerifier() = default;
  // With a trusted Ed25519 public key (PEM): every directory must carry a
  // SHA256SUMS signed by it.
  static absl::StatusOr<std::shared_ptr<const ArtifactVerifier>> WithTrustedKeyFile(
      const std::filesystem::path& pem_file);
  static absl::StatusOr<std::shared_ptr<const ArtifactVerifier>> WithTrustedKey(
      std::string_view pem);

  // OK when `dir` has no SHA256SUMS and no key is trusted, or when every
  // file it lists has its checksum (and the signature verifies).
  // DATA_LOSS naming the file that differs or is missing;
  // FAILED_PRECONDITION when a trusted key is set and the list is unsigned
  // or its signature does not verify. Messages name files relative to `dir`.
  absl::Status Verify(const std::filesystem::path& dir) const;

  // OK when `signature` is the trusted key's Ed25519 signature of `data`;
  // FAILED_PRECONDITION otherwise (and when no key is trusted).
  absl::Status VerifySignatureOf(std::string_view data, std::string_view signature) const;

  bool requires_signature() const { return !public_key_der_.empty(); }

 private:
  absl::Status VerifySignature(const std::filesystem::path& dir, std::string_view sums) const;

  std::string public_key_der_;  // empty: no trusted key
};

}  // namespace strata::store

#endif  // STRATA_STORE_ARTIFACT_VERIFIER_H_
