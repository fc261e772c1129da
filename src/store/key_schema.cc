#include "store/key_schema.h"

#include <charconv>
#include <set>
#include <type_traits>

#include "fmt/format.h"

namespace strata::store {
namespace {

using core::DataType;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsInteger(DataType dtype) {
  return core::VisitDataType(dtype, [](auto tag) { return decltype(tag)::kIsInteger; });
}

// Element `row` of an integer tensor as int64; false when a UINT64 value
// does not fit.
bool IntAt(const core::Tensor& t, size_t row, int64_t& out) {
  return core::VisitDataType(t.dtype, [&](auto tag) {
    using Tag = decltype(tag);
    using T = typename Tag::Element;
    if constexpr (Tag::kIsInteger) {
      const T v = reinterpret_cast<const T*>(t.data.data())[row];
      out = static_cast<int64_t>(v);
      if constexpr (std::is_same_v<T, uint64_t>) {
        return v <= static_cast<uint64_t>(INT64_MAX);
      } else {
        return true;
      }
    } else {
      return false;
    }
  });
}

}  // namespace

absl::StatusOr<KeySchema> KeySchema::Parse(std::string_view spec) {
  std::vector<KeyColumn> columns;
  std::set<std::string, std::less<>> seen;
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    std::string_view item = Trim(spec.substr(0, comma));
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    if (item.empty()) continue;
    KeyColumn column{std::string(item), DataType::kBytes};
    if (const size_t colon = item.find(':'); colon != std::string_view::npos) {
      column.name = std::string(Trim(item.substr(0, colon)));
      const std::string_view type = Trim(item.substr(colon + 1));
      if (type == "INT64") {
        column.dtype = DataType::kInt64;
      } else if (type != "BYTES") {
        return absl::InvalidArgumentError(fmt::format(
            "key column '{}' has type '{}'; a key column is INT64 or BYTES", column.name, type));
      }
    }
    if (column.name.empty()) {
      return absl::InvalidArgumentError(fmt::format("key column '{}' has no name", item));
    }
    if (!seen.insert(column.name).second) {
      return absl::InvalidArgumentError(fmt::format("key column '{}' is named twice", column.name));
    }
    columns.push_back(std::move(column));
  }
  if (columns.empty()) {
    return absl::InvalidArgumentError(
        "no key columns; name them, e.g. store_id:INT64,product_id:INT64,date");
  }
  return KeySchema(std::move(columns));
}

std::string KeySchema::ToString() const {
  std::string out;
  for (const KeyColumn& c : columns_) {
    if (!out.empty()) out += ',';
    out += fmt::format("{}:{}", c.name, core::DataTypeName(c.dtype));
  }
  return out;
}

void KeySchema::AppendInt(int64_t value, std::string& key) {
  const uint64_t bits = static_cast<uint64_t>(value) ^ (uint64_t{1} << 63);
  for (int shift = 56; shift >= 0; shift -= 8) {
    key.push_back(static_cast<char>(bits >> shift));
  }
}

void KeySchema::AppendBytes(std::string_view value, std::string& key) {
  const auto n = static_cast<uint32_t>(value.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    key.push_back(static_cast<char>(n >> shift));
  }
  key.append(value);
}

absl::Status KeySchema::AppendText(size_t index, std::string_view field, std::string& key) const {
  const KeyColumn& column = columns_[index];
  if (column.dtype == DataType::kBytes) {
    AppendBytes(field, key);
    return absl::OkStatus();
  }
  int64_t value = 0;
  const std::string_view digits = Trim(field);
  auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (err != std::errc() || end != digits.data() + digits.size() || digits.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("key column '{}' is INT64 but the value is '{}'", column.name, field));
  }
  AppendInt(value, key);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> KeySchema::EncodeTensors(
    std::span<const core::Tensor* const> tensors) const {
  if (tensors.size() != columns_.size()) {
    return absl::InvalidArgumentError(fmt::format("expected {} key columns ({}), got {}",
                                                  columns_.size(), ToString(), tensors.size()));
  }
  int64_t rows = -1;
  std::vector<std::vector<std::string_view>> strings(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    const core::Tensor& t = *tensors[c];
    const KeyColumn& column = columns_[c];
    const bool shape_ok = t.shape.size() == 1 || (t.shape.size() == 2 && t.shape[1] == 1);
    if (!shape_ok) {
      return absl::InvalidArgumentError(
          fmt::format("key column '{}' must have shape [rows] or [rows, 1]", column.name));
    }
    if (rows >= 0 && t.shape[0] != rows) {
      return absl::InvalidArgumentError(fmt::format("key column '{}' has {} rows but '{}' has {}",
                                                    column.name, t.shape[0], columns_[0].name,
                                                    rows));
    }
    rows = t.shape[0];
    if (column.dtype == DataType::kBytes) {
      if (t.dtype != DataType::kBytes) {
        return absl::InvalidArgumentError(fmt::format("key column '{}' must be BYTES, got {}",
                                                      column.name, core::DataTypeName(t.dtype)));
      }
      if (absl::Status s = core::SplitBytesElements(t.data, strings[c]); !s.ok()) {
        return s;
      }
      if (static_cast<int64_t>(strings[c].size()) != rows) {
        return absl::InvalidArgumentError(fmt::format("key column '{}' has {} elements for {} rows",
                                                      column.name, strings[c].size(), rows));
      }
    } else if (!IsInteger(t.dtype)) {
      return absl::InvalidArgumentError(
          fmt::format("key column '{}' must be an integer (INT64), got {}", column.name,
                      core::DataTypeName(t.dtype)));
    } else if (t.data.size() != static_cast<size_t>(rows) * core::ElementSize(t.dtype)) {
      return absl::InvalidArgumentError(fmt::format(
          "key column '{}' has {} bytes of data for {} rows", column.name, t.data.size(), rows));
    }
  }
  std::vector<std::string> keys(rows < 0 ? 0 : rows);
  for (size_t r = 0; r < keys.size(); ++r) {
    std::string& key = keys[r];
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (columns_[c].dtype == DataType::kBytes) {
        AppendBytes(strings[c][r], key);
        continue;
      }
      int64_t value = 0;
      if (!IntAt(*tensors[c], r, value)) {
        return absl::InvalidArgumentError(
            fmt::format("key column '{}' row {} does not fit INT64", columns_[c].name, r));
      }
      AppendInt(value, key);
    }
  }
  return keys;
}

absl::StatusOr<std::vector<KeyValue>> KeySchema::Decode(std::string_view key) const {
  std::vector<KeyValue> values;
  const bool fits = Visit(
      key, [&](size_t, int64_t v) { values.emplace_back(v); },
      [&](size_t, std::string_view v) { values.emplace_back(std::string(v)); });
  if (!fits) {
    return absl::DataLossError(fmt::format("a key does not match the key columns {}", ToString()));
  }
  return values;
}

}  // namespace strata::store
