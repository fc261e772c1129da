#include "store/artifact_verifier.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include "fmt/format.h"

namespace strata::store {
namespace fs = std::filesystem;

namespace {

std::string ToHex(const unsigned char* bytes, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    hex.push_back(kHex[bytes[i] >> 4]);
    hex.push_back(kHex[bytes[i] & 0xf]);
  }
  return hex;
}

bool IsHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// A path that stays inside the directory it is relative to.
bool IsContainedPath(std::string_view text) {
  if (text.empty()) return false;
  const fs::path path(text);
  if (path.is_absolute() || path.has_root_name() || path.has_root_directory()) return false;
  for (const fs::path& part : path) {
    if (part == "..") return false;
  }
  return true;
}

absl::StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("cannot read {}", path.string()));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using EvpMdCtx = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;
using EvpPkey = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;

}  // namespace

absl::StatusOr<std::vector<FileChecksum>> ParseChecksums(std::string_view text) {
  std::vector<FileChecksum> sums;
  int number = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    // "<hex>  <path>" (text mode) or "<hex> *<path>" (binary mode).
    if (line.size() < 67 || !IsHex64(line.substr(0, 64)) || line[64] != ' ' ||
        (line[65] != ' ' && line[65] != '*')) {
      return absl::InvalidArgumentError(
          fmt::format("{} line {}: expected '<sha256>  <file>'", kChecksumsFile, number));
    }
    std::string path(line.substr(66));
    if (!IsContainedPath(path)) {
      return absl::InvalidArgumentError(
          fmt::format("{} line {}: '{}' is not inside the version", kChecksumsFile, number, path));
    }
    sums.push_back({std::string(line.substr(0, 64)), std::move(path)});
  }
  return sums;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return ToHex(digest, length);
}

absl::StatusOr<std::string> Sha256OfFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("cannot read {}", path.string()));
  EvpMdCtx ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  char buffer[1 << 16];
  while (in) {
    in.read(buffer, sizeof(buffer));
    EVP_DigestUpdate(ctx.get(), buffer, static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return absl::DataLossError(fmt::format("error reading {}", path.string()));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  return ToHex(digest, length);
}

absl::StatusOr<std::string> ChecksumsOf(const fs::path& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string relative = fs::relative(it->path(), dir).generic_string();
    if (relative == kChecksumsFile || relative == kSignatureFile) continue;
    files.push_back(std::move(relative));
  }
  if (ec) return absl::NotFoundError(fmt::format("cannot list {}: {}", dir.string(), ec.message()));
  std::sort(files.begin(), files.end());
  std::string text;
  for (const std::string& file : files) {
    absl::StatusOr<std::string> sum = Sha256OfFile(dir / file);
    if (!sum.ok()) return sum.status();
    text += fmt::format("{}  {}\n", *sum, file);
  }
  return text;
}

absl::StatusOr<std::shared_ptr<const ArtifactVerifier>> ArtifactVerifier::WithTrustedKeyFile(
    const fs::path& pem_file) {
  absl::StatusOr<std::string> pem = ReadFile(pem_file);
  if (!pem.ok())
    return absl::NotFoundError(fmt::format("trusted key: {}", std::string(pem.status().message())));
  return WithTrustedKey(*pem);
}

absl::StatusOr<std::shared_ptr<const ArtifactVerifier>> ArtifactVerifier::WithTrustedKey(
    std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), int(pem.size())),
                                                &BIO_free);
  EvpPkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr || EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError("trusted key: not an Ed25519 public key in PEM");
  }
  unsigned char raw[32];
  size_t length = sizeof(raw);
  if (EVP_PKEY_get_raw_public_key(key.get(), raw, &length) != 1 || length != sizeof(raw)) {
    return absl::InvalidArgumentError("trusted key: cannot read the Ed25519 public key");
  }
  auto verifier = std::make_shared<ArtifactVerifier>();
  verifier->public_key_der_.assign(reinterpret_cast<const char*>(raw), length);
  return std::shared_ptr<const ArtifactVerifier>(std::move(verifier));
}

absl::Status ArtifactVerifier::VerifySignatureOf(std::string_view data,
                                                 std::string_view signature) const {
  EvpPkey key(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(public_key_der_.data()),
      public_key_der_.size()));
  EvpMdCtx ctx(EVP_MD_CTX_new());
  const bool ok =
      requires_signature() && key != nullptr &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) == 1;
  if (!ok) return absl::FailedPreconditionError("the signature does not verify");
  return absl::OkStatus();
}

absl::Status ArtifactVerifier::VerifySignature(const fs::path& dir, std::string_view sums) const {
  absl::StatusOr<std::string> signature = ReadFile(dir / kSignatureFile);
  if (!signature.ok()) {
    return absl::FailedPreconditionError(
        fmt::format("unsigned: no {} (a trusted key is required)", kSignatureFile));
  }
  if (!VerifySignatureOf(sums, *signature).ok()) {
    return absl::FailedPreconditionError(
        fmt::format("bad signature: {} does not verify {} with the trusted key", kSignatureFile,
                    kChecksumsFile));
  }
  return absl::OkStatus();
}

absl::Status ArtifactVerifier::Verify(const fs::path& dir) const {
  std::error_code ec;
  if (!fs::exists(dir / kChecksumsFile, ec)) {
    if (!requires_signature()) return absl::OkStatus();
    return absl::FailedPreconditionError(
        fmt::format("unsigned: no {} (a trusted key is required)", kChecksumsFile));
  }
  absl::StatusOr<std::string> text = ReadFile(dir / kChecksumsFile);
  if (!text.ok()) return absl::DataLossError(fmt::format("cannot read {}", kChecksumsFile));
  if (requires_signature()) {
    if (absl::Status s = VerifySignature(dir, *text); !s.ok()) return s;
  }
  absl::StatusOr<std::vector<FileChecksum>> sums = ParseChecksums(*text);
  if (!sums.ok()) return absl::DataLossError(std::string(sums.status().message()));
  for (const FileChecksum& sum : *sums) {
    absl::StatusOr<std::string> actual = Sha256OfFile(dir / sum.path);
    if (!actual.ok()) {
      return absl::DataLossError(
          fmt::format("{} lists '{}', which is missing", kChecksumsFile, sum.path));
    }
    if (*actual != sum.sha256) {
      return absl::DataLossError(
          fmt::format("checksum mismatch: '{}' does not match {}", sum.path, kChecksumsFile));
    }
  }
  return absl::OkStatus();
}

}  // namespace strata::store
