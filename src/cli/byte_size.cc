#include "cli/byte_size.h"

#include <array>
#include <charconv>
#include <utility>

namespace strata::cli {

std::optional<size_t> ParseByteSize(std::string_view text) {
  size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  const std::string_view suffix(end, text.data() + text.size() - end);
  constexpr std::array<std::pair<std::string_view, int>, 10> kSuffixes = {{{"", 0},
                                                                           {"B", 0},
                                                                           {"K", 10},
                                                                           {"KB", 10},
                                                                           {"KiB", 10},
                                                                           {"M", 20},
                                                                           {"MB", 20},
                                                                           {"MiB", 20},
                                                                           {"G", 30},
                                                                           {"GiB", 30}}};
  int shift = -1;
  for (const auto& [name, bits] : kSuffixes) {
    if (suffix == name) shift = bits;
  }
  if (suffix == "GB") shift = 30;
  if (shift < 0 || value > (SIZE_MAX >> shift)) return std::nullopt;
  return value << shift;
}

}  // namespace strata::cli
