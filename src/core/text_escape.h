// Escapes for the places that write JSON or HTML/SVG text by hand (key log
// lines, row keys, batch outputs, advisor reports and charts, the status
// page) rather than through a library. Pure functions; thread-safe.
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

// `text` for HTML or XML character data and attribute values: & < > " '
// as entities.
std::string HtmlEscape(std::string_view text);

}  // namespace strata::core

#endif  // STRATA_CORE_JSON_TEXT_H_
