// KeySchema names a table's key columns and their types, and encodes a row's
// key values into the key: canonical bytes that are equal exactly when the
// values are equal. Integer columns are 8 bytes big-endian with the sign bit
// flipped (so byte order is numeric order); BYTES columns are a 4-byte
// big-endian length then the bytes. A value type; const methods are
// thread-safe.
#ifndef STRATA_STORE_KEY_SCHEMA_H_
#define STRATA_STORE_KEY_SCHEMA_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "core/datatype.h"
#include "core/tensor.h"

namespace strata::store {

struct KeyColumn {
  std::string name;
  core::DataType dtype = core::DataType::kInt64;  // kInt64 or kBytes
};

// One decoded key value: an integer or a string.
using KeyValue = std::variant<int64_t, std::string>;

class KeySchema {
 public:
  KeySchema() = default;
  explicit KeySchema(std::vector<KeyColumn> columns) : columns_(std::move(columns)) {}

  // Parses "store_id:INT64,product_id:INT64,date" (a column without a type
  // is BYTES). Error for an empty list, a repeated name or another type.
  static absl::StatusOr<KeySchema> Parse(std::string_view spec);

  const std::vector<KeyColumn>& columns() const { return columns_; }
  size_t size() const { return columns_.size(); }
  // "store_id:INT64,product_id:INT64,date:BYTES"
  std::string ToString() const;

  // Appends column `index`'s encoding of the text `field` (an integer's
  // decimal digits, or a string's bytes) to `key`.
  absl::Status AppendText(size_t index, std::string_view field, std::string& key) const;
  static void AppendInt(int64_t value, std::string& key);
  static void AppendBytes(std::string_view value, std::string& key);

  // The keys of the rows of `tensors`, one per key column in schema order,
  // each [rows] or [rows, 1]. Integer columns accept any integer datatype;
  // BYTES columns only BYTES. Errors name the column and what was expected.
  absl::StatusOr<std::vector<std::string>> EncodeTensors(
      std::span<const core::Tensor* const> tensors) const;

  // Splits a key back into its values; error when it does not fit.
  absl::StatusOr<std::vector<KeyValue>> Decode(std::string_view key) const;

  // Calls on_int(column, int64_t) or on_bytes(column, std::string_view) for
  // each value of `key`, in column order, without copying; false (after
  // some calls, maybe) when the key does not fit the columns.
  template <typename OnInt, typename OnBytes>
  bool Visit(std::string_view key, OnInt&& on_int, OnBytes&& on_bytes) const {
    auto byte = [&](size_t i) { return static_cast<uint8_t>(key[i]); };
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (columns_[c].dtype == core::DataType::kBytes) {
        if (key.size() < 4) return false;
        const uint32_t n = uint32_t{byte(0)} << 24 | uint32_t{byte(1)} << 16 |
                           uint32_t{byte(2)} << 8 | uint32_t{byte(3)};
        if (key.size() - 4 < n) return false;
        on_bytes(c, key.substr(4, n));
        key.remove_prefix(4 + n);
      } else {
        if (key.size() < 8) return false;
        uint64_t bits = 0;
        for (size_t i = 0; i < 8; ++i) bits = bits << 8 | byte(i);
        on_int(c, static_cast<int64_t>(bits ^ (uint64_t{1} << 63)));
        key.remove_prefix(8);
      }
    }
    return key.empty();
  }

 private:
  std::vector<KeyColumn> columns_;
};

}  // namespace strata::store

#endif  // STRATA_STORE_KEY_SCHEMA_H_
