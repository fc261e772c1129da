// JSON string literals for the places that write JSON text by hand (key
// log lines, row keys, batch outputs, advisor reports) rather than through
// a JSON library. Pure functions; thread-safe.
#ifndef STRATA_CORE_JSON_TEXT_H_
#define STRATA_CORE_JSON_TEXT_H_

#include <string>
#include <string_view>

namespace strata::core {

// Appends `text` to `out` as a JSON string literal: quotes, backslashes and
// control characters escaped; other bytes (UTF-8 included) as they are.
void AppendJsonString(std::string_view text, std::string& out);

// The JSON string literal of `text`.
std::string JsonString(std::string_view text);

}  // namespace strata::core

#endif  // STRATA_CORE_JSON_TEXT_H_
