#include "check/prometheus_text.h"

#include <algorithm>
#include <cstdlib>

namespace strata::check {
namespace {

// True when the label block `{a="x",b="y"}` holds every wanted label.
bool HasLabels(std::string_view block, const std::map<std::string, std::string>& labels) {
  for (const auto& [name, value] : labels) {
    const std::string wanted = name + "=\"" + value + "\"";
    const size_t at = block.find(wanted);
    if (at == std::string_view::npos) return false;
    const char before = at == 0 ? '{' : block[at - 1];
    if (before != '{' && before != ',') return false;
  }
  return true;
}

}  // namespace

std::optional<double> SumSeries(std::string_view text, std::string_view metric,
                                const std::map<std::string, std::string>& labels) {
  std::optional<double> sum;
  while (!text.empty()) {
    const size_t end_of_line = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end_of_line);
    text.remove_prefix(std::min(end_of_line + 1, text.size()));
    if (!line.starts_with(metric)) continue;
    std::string_view rest = line.substr(metric.size());
    std::string_view block;
    if (rest.starts_with('{')) {
      const size_t close = rest.find('}');
      if (close == std::string_view::npos) continue;
      block = rest.substr(0, close + 1);
      rest.remove_prefix(close + 1);
    }
    if (!rest.starts_with(' ') || !HasLabels(block, labels)) continue;
    const std::string number(rest.substr(1, rest.find(' ', 1) - 1));
    char* end = nullptr;
    const double value = std::strtod(number.c_str(), &end);
    if (end == number.c_str()) continue;
    sum = sum.value_or(0) + value;
  }
  return sum;
}

}  // namespace strata::check
