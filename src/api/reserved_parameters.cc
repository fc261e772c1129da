#include "api/reserved_parameters.h"

#include <algorithm>
#include <array>
#include <string>

#include "fmt/format.h"

namespace strata::api {

absl::Status CheckParameterSupported(std::string_view key) {
  constexpr std::array<std::string_view, 7> kUnsupported = {
      "sequence_id",          "sequence_start",          "sequence_end",
      "priority",             "shared_memory_region",    "shared_memory_byte_size",
      "shared_memory_offset"};
  const bool unsupported =
      key.starts_with("triton_") ||
      std::find(kUnsupported.begin(), kUnsupported.end(), key) != kUnsupported.end();
  if (!unsupported) return absl::OkStatus();
  return absl::InvalidArgumentError(
      fmt::format("parameter '{}' is not supported by strata", key));
}

}  // namespace strata::api
