// Sha256 is SHA-256 (OpenSSL's libcrypto) over bytes given piece by piece:
// the checksum of every file a backup holds, in the hex form sha256sum
// prints. Not thread-safe; one object per stream.
#ifndef STRATA_CLI_SHA256_H_
#define STRATA_CLI_SHA256_H_

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace strata::cli {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view data);
  // 64 lowercase hex digits. Call once, at the end.
  std::string HexDigest();

  static std::string Of(std::string_view data);
  static absl::StatusOr<std::string> OfFile(const std::filesystem::path& path);

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

}  // namespace strata::cli

#endif  // STRATA_CLI_SHA256_H_
