// Parses human byte sizes for command-line flags: "1048576", "64MiB", "2GB".
#ifndef STRATA_CLI_BYTE_SIZE_H_
#define STRATA_CLI_BYTE_SIZE_H_

#include <cstddef>
#include <optional>
#include <string_view>

namespace strata::cli {

// Accepts a non-negative integer with an optional suffix B, K/KB/KiB,
// M/MB/MiB, G/GB/GiB (all binary multiples); nullopt for anything else.
std::optional<size_t> ParseByteSize(std::string_view text);

}  // namespace strata::cli

#endif  // STRATA_CLI_BYTE_SIZE_H_
