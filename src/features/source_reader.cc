#include "features/source_reader.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <sstream>

#include "fmt/format.h"
#include "simdjson.h"

namespace strata::features {
namespace fs = std::filesystem;
namespace {

// Splits a CSV record (RFC 4180 quotes, no newline inside a field).
absl::Status SplitCsvLine(std::string_view line, std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  size_t i = 0;
  while (true) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      for (++i;; ++i) {
        if (i >= line.size()) return absl::InvalidArgumentError("an unterminated quoted field");
        if (line[i] != '"') {
          field += line[i];
        } else if (i + 1 < line.size() && line[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          ++i;
          break;
        }
      }
      if (i < line.size() && line[i] != ',') {
        return absl::InvalidArgumentError("text after a quoted field");
      }
    } else {
      const size_t end = std::min(line.find(',', i), line.size());
      field.assign(line.substr(i, end - i));
      i = end;
    }
    fields.push_back(field);
    if (i >= line.size()) return absl::OkStatus();
    ++i;  // the comma
  }
}

std::string_view TrimLine(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// For each asked column, its index among `header` (-1 when absent).
absl::StatusOr<std::vector<int>> MatchColumns(const std::vector<std::string>& header,
                                              std::span<const SourceColumn> columns,
                                              std::string_view origin, SourceRows& out) {
  std::vector<int> index;
  for (const SourceColumn& c : columns) {
    int found = -1;
    for (const std::string& name : c.names) {
      auto it = std::find(header.begin(), header.end(), name);
      if (it != header.end()) {
        found = static_cast<int>(it - header.begin());
        break;
      }
    }
    if (found < 0 && c.required) {
      return absl::InvalidArgumentError(
          fmt::format("{} has no column '{}' (it has: {}); add it or name the right file", origin,
                      c.names.front(), fmt::join(header, ", ")));
    }
    index.push_back(found);
    out.present.push_back(found >= 0 ? 1 : 0);
  }
  return index;
}

void StartColumns(std::span<const SourceColumn> columns, SourceRows& out) {
  for (const SourceColumn& c : columns) out.names.push_back(c.names.front());
  out.columns.resize(columns.size());
}

absl::Status FieldError(std::string_view origin, size_t line, std::string_view column,
                        const absl::Status& status) {
  return absl::InvalidArgumentError(fmt::format("{} line {}: column '{}': {}", origin, line, column,
                                                std::string(status.message())));
}

absl::StatusOr<SourceRows> ParseCsv(std::string_view text, std::span<const SourceColumn> columns,
                                    std::string_view origin) {
  SourceRows out;
  StartColumns(columns, out);
  std::istringstream in{std::string(text)};
  std::string line;
  std::vector<std::string> fields;
  if (!std::getline(in, line))
    return absl::InvalidArgumentError(fmt::format("{} is empty", origin));
  if (absl::Status s = SplitCsvLine(TrimLine(line), fields); !s.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("{} header: {}", origin, std::string(s.message())));
  }
  absl::StatusOr<std::vector<int>> index = MatchColumns(fields, columns, origin, out);
  if (!index.ok()) return index.status();
  const size_t width = fields.size();
  for (size_t number = 2; std::getline(in, line); ++number) {
    std::string_view record = TrimLine(line);
    if (record.empty()) continue;
    absl::Status s = SplitCsvLine(record, fields);
    if (s.ok() && fields.size() != width) {
      s = absl::InvalidArgumentError(
          fmt::format("{} fields where the header has {}", fields.size(), width));
    }
    if (!s.ok())
      return absl::InvalidArgumentError(
          fmt::format("{} line {}: {}", origin, number, std::string(s.message())));
    for (size_t c = 0; c < columns.size(); ++c) {
      FeatureValue value;
      if ((*index)[c] >= 0) {
        absl::StatusOr<FeatureValue> v = ParseFieldText(fields[(*index)[c]], columns[c].type);
        if (!v.ok()) return FieldError(origin, number, out.names[c], v.status());
        value = *std::move(v);
      }
      out.columns[c].push_back(std::move(value));
    }
    ++out.rows;
  }
  return out;
}

absl::StatusOr<FeatureValue> JsonValue(simdjson::dom::element v, ValueType type) {
  if (v.is_null()) return FeatureValue{};
  switch (type) {
    case ValueType::kString: {
      std::string_view s;
      if (v.get_string().get(s) == simdjson::SUCCESS) return FeatureValue{std::string(s)};
      return FeatureValue{std::string(simdjson::minify(v))};
    }
    case ValueType::kInt64: {
      int64_t n = 0;
      if (v.get_int64().get(n) == simdjson::SUCCESS) return FeatureValue{n};
      double d = 0;
      if (v.get_double().get(d) == simdjson::SUCCESS && std::trunc(d) == d &&
          std::abs(d) < 9.2e18) {
        return FeatureValue{static_cast<int64_t>(d)};
      }
      std::string_view s;
      if (v.get_string().get(s) == simdjson::SUCCESS) return ParseFieldText(s, type);
      return absl::InvalidArgumentError(fmt::format("{} is not an INT64", simdjson::minify(v)));
    }
    case ValueType::kFloat64: {
      double d = 0;
      if (v.get_double().get(d) == simdjson::SUCCESS) return FeatureValue{d};
      std::string_view s;
      if (v.get_string().get(s) == simdjson::SUCCESS) return ParseFieldText(s, type);
      return absl::InvalidArgumentError(fmt::format("{} is not a FLOAT64", simdjson::minify(v)));
    }
  }
  return FeatureValue{};
}

absl::StatusOr<SourceRows> ParseJsonl(std::string_view text, std::span<const SourceColumn> columns,
                                      std::string_view origin) {
  SourceRows out;
  StartColumns(columns, out);
  out.present.assign(columns.size(), 0);
  simdjson::dom::parser parser;
  size_t number = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = std::min(text.find('\n', start), text.size());
    std::string_view line = TrimLine(text.substr(start, end - start));
    start = end + 1;
    ++number;
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    simdjson::dom::object object;
    if (parser.parse(line).get(object) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(
          fmt::format("{} line {}: not a JSON object", origin, number));
    }
    for (size_t c = 0; c < columns.size(); ++c) {
      FeatureValue value;
      for (const std::string& name : columns[c].names) {
        simdjson::dom::element v;
        if (object.at_key(name).get(v) != simdjson::SUCCESS) continue;
        absl::StatusOr<FeatureValue> parsed = JsonValue(v, columns[c].type);
        if (!parsed.ok()) return FieldError(origin, number, name, parsed.status());
        value = *std::move(parsed);
        out.present[c] = 1;
        break;
      }
      out.columns[c].push_back(std::move(value));
    }
    ++out.rows;
  }
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c].required && !out.present[c] && out.rows > 0) {
      return absl::InvalidArgumentError(fmt::format(
          "{}: no row has the field '{}'; add it or name the right file", origin, out.names[c]));
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<SourceFormat> SourceFormatOf(const fs::path& file) {
  const std::string ext = file.extension().string();
  if (ext == ".csv") return SourceFormat::kCsv;
  if (ext == ".jsonl" || ext == ".ndjson" || ext == ".json") return SourceFormat::kJsonl;
  return absl::InvalidArgumentError(fmt::format(
      "{}: name a .csv (with a header line) or .jsonl (JSON Lines) file", file.string()));
}

absl::StatusOr<FeatureValue> ParseFieldText(std::string_view field, ValueType type) {
  if (type == ValueType::kString) return FeatureValue{std::string(field)};
  if (field.empty()) return FeatureValue{};
  if (type == ValueType::kInt64) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), n);
    if (ec == std::errc() && end == field.data() + field.size()) return FeatureValue{n};
    return absl::InvalidArgumentError(fmt::format("'{}' is not an INT64", field));
  }
  double number = 0;  // from_chars first: exact like strtod, without a copy
  auto [last, error] = std::from_chars(field.data(), field.data() + field.size(), number);
  if (error == std::errc() && last == field.data() + field.size()) return FeatureValue{number};
  const std::string copy(field);  // strtod for the rest ("+1", hexadecimal)
  char* end = nullptr;
  const double d = std::strtod(copy.c_str(), &end);
  if (end == copy.c_str() + copy.size()) return FeatureValue{d};
  return absl::InvalidArgumentError(fmt::format("'{}' is not a FLOAT64", field));
}

absl::StatusOr<SourceRows> ParseSource(std::string_view text, SourceFormat format,
                                       std::span<const SourceColumn> columns,
                                       std::string_view origin) {
  return format == SourceFormat::kCsv ? ParseCsv(text, columns, origin)
                                      : ParseJsonl(text, columns, origin);
}

absl::StatusOr<SourceRows> ReadSourceFile(const fs::path& file,
                                          std::span<const SourceColumn> columns) {
  absl::StatusOr<SourceFormat> format = SourceFormatOf(file);
  if (!format.ok()) return format.status();
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(fmt::format("cannot read {}: check the path", file.string()));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseSource(text.str(), *format, columns, file.string());
}

std::vector<SourceColumn> SlotColumns(std::span<const Slot> slots, bool required) {
  std::vector<SourceColumn> columns;
  for (const Slot& slot : slots) {
    columns.push_back({{slot.Name(), slot.column}, slot.type, required});
  }
  return columns;
}

RawRows RawRowsFromSource(const SourceRows& source) {
  RawRows rows(source.rows, source.columns.size());
  for (size_t c = 0; c < source.columns.size(); ++c) {
    for (size_t r = 0; r < source.rows; ++r) rows.At(r, c) = source.columns[c][r];
  }
  return rows;
}

}  // namespace strata::features
