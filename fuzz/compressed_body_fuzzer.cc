// Fuzzes request decompression (Content-Encoding gzip and deflate) and the
// Accept-Encoding parser. The first byte picks the coding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/http_compression.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using strata::api::ContentEncoding;
  const ContentEncoding encoding = data[0] & 1 ? ContentEncoding::kGzip : ContentEncoding::kDeflate;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  constexpr size_t kLimit = 1 << 20;
  absl::StatusOr<std::string> inflated = strata::api::Decompress(body, encoding, kLimit);
  if (inflated.ok()) {
    if (inflated->size() > kLimit) std::abort();
    // What the server would send back must inflate to the same bytes.
    absl::StatusOr<std::string> again =
        strata::api::Decompress(strata::api::Compress(*inflated, encoding), encoding, kLimit);
    if (!again.ok() || *again != *inflated) std::abort();
  }
  strata::api::NegotiateEncoding(body);
  return 0;
}
