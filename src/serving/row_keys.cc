#include "serving/row_keys.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "core/fingerprint.h"
#include "core/text_escape.h"
#include "fmt/format.h"

namespace strata::serving {
namespace {

using core::AppendJsonString;

template <typename T>
void AppendInteger(const core::Tensor& t, size_t i, std::string& out) {
  T v;
  std::memcpy(&v, t.data.data() + i * sizeof(T), sizeof(T));
  fmt::format_to(std::back_inserter(out), "{}", v);
}

// The JSON text of element `i` of an integer or BYTES tensor; false for
// another datatype.
bool AppendValue(const core::Tensor& t, const std::vector<std::string_view>& strings, size_t i,
                 std::string& out) {
  return core::VisitDataType(t.dtype, [&](auto tag) {
    using Tag = decltype(tag);
    if constexpr (Tag::kIsInteger) {
      AppendInteger<typename Tag::Element>(t, i, out);
      return true;
    } else if constexpr (Tag::kIsBytes) {
      AppendJsonString(strings[i], out);
      return true;
    } else {
      return false;
    }
  });
}

}  // namespace

std::vector<std::string> RowKeyTexts(const std::vector<std::string>& key_columns,
                                     const core::InferRequest& request) {
  std::vector<const core::Tensor*> columns;
  std::vector<std::vector<std::string_view>> strings(key_columns.size());
  size_t rows = 0;
  for (size_t c = 0; c < key_columns.size(); ++c) {
    const core::Tensor* found = nullptr;
    for (const core::Tensor& t : request.inputs) {
      if (t.name == key_columns[c]) found = &t;
    }
    if (found == nullptr || found->shape.empty()) return {};
    const size_t n = static_cast<size_t>(std::max<int64_t>(0, found->shape[0]));
    if (c > 0 && n != rows) return {};
    rows = n;
    if (found->dtype == core::DataType::kBytes) {
      if (!core::SplitBytesElements(found->data, strings[c]).ok() || strings[c].size() != n) {
        return {};
      }
    } else if (found->data.size() != n * core::ElementSize(found->dtype)) {
      return {};
    }
    columns.push_back(found);
  }
  std::vector<std::string> keys(rows);
  for (size_t r = 0; r < rows; ++r) {
    std::string& key = keys[r];
    key += '{';
    for (size_t c = 0; c < columns.size(); ++c) {
      if (c > 0) key += ',';
      AppendJsonString(key_columns[c], key);
      key += ':';
      if (!AppendValue(*columns[c], strings[c], r, key)) return {};
    }
    key += '}';
    if (key.size() > core::kMaxKeyBytes) key = core::KeyFingerprintMarker(key);
  }
  return keys;
}

absl::StatusOr<std::vector<std::string>> RowInputKeys(const std::vector<core::Tensor>& inputs) {
  if (inputs.empty() || inputs.front().shape.empty()) {
    return absl::InvalidArgumentError("the request has no inputs with rows");
  }
  const size_t rows = static_cast<size_t>(std::max<int64_t>(0, inputs.front().shape[0]));
  std::vector<std::string> keys(rows);
  for (const core::Tensor& t : inputs) {
    if (t.shape.empty() || t.shape[0] != static_cast<int64_t>(rows)) {
      return absl::InvalidArgumentError(
          fmt::format("input '{}' must have {} rows like the first input", t.name, rows));
    }
    if (rows == 0) continue;
    if (t.dtype == core::DataType::kBytes) {
      std::vector<std::string_view> elements;
      if (absl::Status s = core::SplitBytesElements(t.data, elements); !s.ok()) return s;
      if (elements.size() % rows != 0) {
        return absl::InvalidArgumentError(
            fmt::format("input '{}' does not split into {} rows", t.name, rows));
      }
      const size_t per_row = elements.size() / rows;
      for (size_t r = 0; r < rows; ++r) {
        for (size_t e = 0; e < per_row; ++e) {
          const std::string_view element = elements[r * per_row + e];
          const uint32_t length = static_cast<uint32_t>(element.size());
          keys[r].append(reinterpret_cast<const char*>(&length), sizeof length);
          keys[r].append(element);
        }
      }
      continue;
    }
    const size_t row_bytes = t.data.size() / rows;
    for (size_t r = 0; r < rows; ++r) {
      keys[r].append(reinterpret_cast<const char*>(t.data.data()) + r * row_bytes, row_bytes);
    }
  }
  return keys;
}

std::vector<std::string> ContentFingerprints(const std::vector<std::string>& content_keys) {
  std::vector<std::string> fingerprints;
  fingerprints.reserve(content_keys.size());
  for (const std::string& key : content_keys) {
    fingerprints.push_back(core::FingerprintHex(core::Fingerprint64(key)));
  }
  return fingerprints;
}

std::vector<std::string> KeyTextsOf(const store::KeySchema& key_schema,
                                    const std::vector<std::string>& keys) {
  const std::vector<store::KeyColumn>& columns = key_schema.columns();
  if (columns.empty()) return {};
  // Each column's text before its value: {"a": then ,"b": and so on.
  std::vector<std::string> heads(columns.size());
  for (size_t c = 0; c < columns.size(); ++c) {
    heads[c] = c == 0 ? "{" : ",";
    core::AppendJsonString(columns[c].name, heads[c]);
    heads[c] += ':';
  }
  std::vector<std::string> texts(keys.size());
  for (size_t k = 0; k < keys.size(); ++k) {
    std::string& text = texts[k];
    const bool fits = key_schema.Visit(
        keys[k],
        [&](size_t c, int64_t v) {
          text += heads[c];
          char digits[24];
          text.append(digits, std::to_chars(digits, digits + sizeof digits, v).ptr);
        },
        [&](size_t c, std::string_view v) {
          text += heads[c];
          core::AppendJsonString(v, text);
        });
    if (!fits) return {};
    text += '}';
    if (text.size() > core::kMaxKeyBytes) text = core::KeyFingerprintMarker(text);
  }
  return texts;
}

}  // namespace strata::serving
