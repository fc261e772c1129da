#include "features/feature_row_codec.h"

#include <cstring>

#include "fmt/format.h"

namespace strata::features {
namespace {

enum Tag : uint8_t { kMissingTag = 0, kInt64Tag = 1, kFloat64Tag = 2, kStringTag = 3 };

void AppendLittleEndian(uint64_t value, size_t bytes, std::string& out) {
  for (size_t i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t ReadLittleEndian(std::string_view bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    value |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  }
  return value;
}

void AppendDouble(double value, std::string& out) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  out.push_back(static_cast<char>(kFloat64Tag));
  AppendLittleEndian(bits, 8, out);
}

// Appends one value as `type` (an INT64 for a FLOAT64 column becomes a
// double; any other mismatch is written as missing).
void AppendValue(ValueType type, const FeatureValue& value, std::string& out) {
  const auto* i = std::get_if<int64_t>(&value);
  const auto* d = std::get_if<double>(&value);
  const auto* s = std::get_if<std::string>(&value);
  if (type == ValueType::kInt64 && i != nullptr) {
    out.push_back(static_cast<char>(kInt64Tag));
    AppendLittleEndian(static_cast<uint64_t>(*i), 8, out);
  } else if (type == ValueType::kFloat64 && (d != nullptr || i != nullptr)) {
    AppendDouble(d != nullptr ? *d : static_cast<double>(*i), out);
  } else if (type == ValueType::kString && s != nullptr) {
    out.push_back(static_cast<char>(kStringTag));
    AppendLittleEndian(s->size(), 4, out);
    out.append(*s);
  } else {
    out.push_back(static_cast<char>(kMissingTag));
  }
}

absl::Status Truncated(std::string_view column) {
  return absl::DataLossError(fmt::format("feature row: truncated at column '{}'", column));
}

// Reads one value of `column` from the front of `bytes`.
absl::Status ReadValue(const Column& column, std::string_view& bytes, FeatureValue& value) {
  if (bytes.empty()) return Truncated(column.name);
  const uint8_t tag = static_cast<uint8_t>(bytes[0]);
  bytes.remove_prefix(1);
  const uint8_t expected = column.type == ValueType::kInt64     ? kInt64Tag
                           : column.type == ValueType::kFloat64 ? kFloat64Tag
                                                                : kStringTag;
  if (tag == kMissingTag) {
    value = std::monostate();
    return absl::OkStatus();
  }
  if (tag != expected) {
    return absl::DataLossError(fmt::format("feature row: column '{}' is {}, found tag {}",
                                           column.name, ValueTypeName(column.type), tag));
  }
  if (tag == kStringTag) {
    if (bytes.size() < 4) return Truncated(column.name);
    const uint64_t length = ReadLittleEndian(bytes.substr(0, 4));
    bytes.remove_prefix(4);
    if (bytes.size() < length) return Truncated(column.name);
    value = std::string(bytes.substr(0, length));
    bytes.remove_prefix(length);
    return absl::OkStatus();
  }
  if (bytes.size() < 8) return Truncated(column.name);
  const uint64_t bits = ReadLittleEndian(bytes.substr(0, 8));
  bytes.remove_prefix(8);
  if (tag == kInt64Tag) {
    value = static_cast<int64_t>(bits);
  } else {
    double d;
    std::memcpy(&d, &bits, sizeof(d));
    value = d;
  }
  return absl::OkStatus();
}

}  // namespace

std::string EncodeFeatureRow(std::span<const Column> columns, std::span<const FeatureValue> values,
                             int64_t event_time) {
  std::string out;
  out.reserve(8 + columns.size() * 9);
  AppendLittleEndian(static_cast<uint64_t>(event_time), 8, out);
  for (size_t i = 0; i < columns.size(); ++i) {
    AppendValue(columns[i].type, i < values.size() ? values[i] : FeatureValue(), out);
  }
  return out;
}

absl::Status DecodeFeatureRow(std::string_view bytes, std::span<const Column> columns,
                              std::span<FeatureValue> values, int64_t& event_time) {
  if (values.size() != columns.size()) {
    return absl::InvalidArgumentError(
        fmt::format("DecodeFeatureRow: {} values for {} columns", values.size(), columns.size()));
  }
  if (bytes.size() < 8) return absl::DataLossError("feature row: shorter than its event time");
  event_time = static_cast<int64_t>(ReadLittleEndian(bytes.substr(0, 8)));
  bytes.remove_prefix(8);
  for (size_t i = 0; i < columns.size(); ++i) {
    if (auto s = ReadValue(columns[i], bytes, values[i]); !s.ok()) return s;
  }
  if (!bytes.empty()) {
    return absl::DataLossError(fmt::format(
        "feature row: {} bytes after its {} columns (written under another definition?)",
        bytes.size(), columns.size()));
  }
  return absl::OkStatus();
}

}  // namespace strata::features
