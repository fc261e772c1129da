#include "batch/row_decoder.h"

#include <charconv>
#include <cmath>
#include <set>
#include <utility>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "simdjson.h"

namespace strata::batch {
namespace {

using core::DataType;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <typename T>
absl::Status ParseInto(std::string_view text, core::Tensor& tensor, int64_t element) {
  T value{};
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (err != std::errc() || end != text.data() + text.size()) {
    return absl::InvalidArgumentError(
        fmt::format("'{}' is not a {} value", text, core::DataTypeName(tensor.dtype)));
  }
  tensor.MutableAs<T>()[element] = value;
  return absl::OkStatus();
}

// Elements per row of a declared input shape [-1, d1, d2, ...].
absl::StatusOr<int64_t> ElementsPerRow(const runtime::TensorSpec& spec, bool batched) {
  int64_t n = 1;
  for (size_t i = batched ? 1 : 0; i < spec.shape.size(); ++i) {
    if (spec.shape[i] <= 0) {
      return absl::InvalidArgumentError(
          fmt::format("model input '{}' has a variable dimension besides the batch; "
                      "strata batch needs a fixed row width",
                      spec.name));
    }
    n *= spec.shape[i];
  }
  return n;
}

struct InputPlan {
  int64_t width = 1;                 // elements per row
  std::vector<std::string> columns;  // one per element; or one array column
  std::vector<size_t> indices;       // CSV: header positions of `columns`
};

class CsvRowDecoder : public RowDecoder {
 public:
  CsvRowDecoder(const store::KeySchema& key, std::vector<size_t> key_indices,
                std::vector<InputPlan> inputs, size_t field_count)
      : key_(key),
        key_indices_(std::move(key_indices)),
        inputs_(std::move(inputs)),
        field_count_(field_count) {}

  absl::Status Decode(std::string_view line, int64_t index, std::vector<core::Tensor>& inputs,
                      DecodedRow& row) const override {
    thread_local std::vector<std::string_view> fields;
    thread_local std::deque<std::string> storage;
    fields.clear();
    storage.clear();
    if (absl::Status s = SplitCsv(line, fields, storage); !s.ok()) return s;
    if (fields.size() != field_count_) {
      return absl::InvalidArgumentError(
          fmt::format("{} fields, but the header has {}", fields.size(), field_count_));
    }
    row.key.clear();
    row.key_texts.resize(key_indices_.size());
    for (size_t c = 0; c < key_indices_.size(); ++c) {
      const std::string_view field = fields[key_indices_[c]];
      row.key_texts[c].assign(field);
      if (absl::Status s = key_.AppendText(c, field, row.key); !s.ok()) return s;
    }
    for (size_t i = 0; i < inputs_.size(); ++i) {
      const InputPlan& plan = inputs_[i];
      for (int64_t e = 0; e < plan.width; ++e) {
        absl::Status s =
            StoreNumber(Trim(fields[plan.indices[e]]), inputs[i], index * plan.width + e);
        if (!s.ok()) {
          return absl::InvalidArgumentError(
              fmt::format("column '{}': {}", plan.columns[e], std::string(s.message())));
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  const store::KeySchema key_;
  std::vector<size_t> key_indices_;
  std::vector<InputPlan> inputs_;
  size_t field_count_;
};

// A JSON number, boolean (BOOL inputs) into element `i` of `t`: integers
// must be integral and in range of the input's type.
template <typename T>
absl::Status StoreJsonInteger(simdjson::dom::element v, core::Tensor& t, int64_t i) {
  int64_t n = 0;
  uint64_t u = 0;
  double d = 0;
  bool in_range = false;
  if (v.get_int64().get(n) == simdjson::SUCCESS) {
    in_range = std::in_range<T>(n);
    if (in_range) t.MutableAs<T>()[i] = static_cast<T>(n);
  } else if (v.get_uint64().get(u) == simdjson::SUCCESS) {
    in_range = std::in_range<T>(u);
    if (in_range) t.MutableAs<T>()[i] = static_cast<T>(u);
  } else if (v.get_double().get(d) == simdjson::SUCCESS && std::trunc(d) == d &&
             std::abs(d) < 9.007199254740992e15) {
    n = static_cast<int64_t>(d);
    in_range = std::in_range<T>(n);
    if (in_range) t.MutableAs<T>()[i] = static_cast<T>(n);
  } else {
    return absl::InvalidArgumentError(fmt::format("{} is not an integer", simdjson::minify(v)));
  }
  if (!in_range) {
    return absl::InvalidArgumentError(
        fmt::format("{} is out of range for {}", simdjson::minify(v), core::DataTypeName(t.dtype)));
  }
  return absl::OkStatus();
}

absl::Status StoreJsonValue(simdjson::dom::element v, core::Tensor& t, int64_t i) {
  return core::VisitDataType(t.dtype, [&](auto tag) -> absl::Status {
    using Tag = decltype(tag);
    using T = typename Tag::Element;
    if constexpr (Tag::kIsFloat) {
      double d = 0;
      if (v.get_double().get(d) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError(fmt::format("{} is not a number", simdjson::minify(v)));
      }
      t.MutableAs<T>()[i] = static_cast<T>(d);
      return absl::OkStatus();
    } else if constexpr (Tag::kIsInteger) {
      return StoreJsonInteger<T>(v, t, i);
    } else if constexpr (Tag::kIsBool) {
      bool b = false;
      if (v.get_bool().get(b) == simdjson::SUCCESS) {
        t.data[i] = b ? 1 : 0;
        return absl::OkStatus();
      }
      if (absl::Status s = StoreJsonInteger<uint8_t>(v, t, i); !s.ok() || t.data[i] > 1) {
        return absl::InvalidArgumentError(fmt::format("{} is not a BOOL", simdjson::minify(v)));
      }
      return absl::OkStatus();
    } else {
      return absl::InvalidArgumentError(
          fmt::format("strata batch cannot fill {} inputs from JSON", core::DataTypeName(t.dtype)));
    }
  });
}

// The text of a key value: a string as it is, a number or boolean as JSON
// writes it; false for arrays, objects and null.
bool KeyText(simdjson::dom::element v, std::string& out) {
  std::string_view text;
  switch (v.type()) {
    case simdjson::dom::element_type::STRING:
      if (v.get_string().get(text) != simdjson::SUCCESS) return false;
      out.assign(text);
      return true;
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE:
    case simdjson::dom::element_type::BOOL:
      out = simdjson::minify(v);
      return true;
    default:
      return false;
  }
}

// JSON Lines rows, parsed with simdjson's DOM (the whole line is validated).
class JsonlRowDecoder : public RowDecoder {
 public:
  JsonlRowDecoder(const store::KeySchema& key, std::vector<InputPlan> inputs)
      : key_(key), inputs_(std::move(inputs)) {}

  absl::Status Decode(std::string_view line, int64_t index, std::vector<core::Tensor>& inputs,
                      DecodedRow& row) const override {
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (auto error = parser.parse(line.data(), line.size()).get(root); error) {
      return absl::InvalidArgumentError(
          fmt::format("not a JSON object: {}", simdjson::error_message(error)));
    }
    simdjson::dom::object object;
    if (root.get_object().get(object) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError("not a JSON object");
    }
    row.key.clear();
    row.key_texts.resize(key_.size());
    for (size_t c = 0; c < key_.size(); ++c) {
      const std::string& name = key_.columns()[c].name;
      simdjson::dom::element field;
      if (object.at_key(name).get(field) != simdjson::SUCCESS ||
          !KeyText(field, row.key_texts[c])) {
        return absl::InvalidArgumentError(
            fmt::format("key column '{}' is missing or not a value", name));
      }
      if (absl::Status s = key_.AppendText(c, row.key_texts[c], row.key); !s.ok()) {
        return s;
      }
    }
    for (size_t i = 0; i < inputs_.size(); ++i) {
      const InputPlan& plan = inputs_[i];
      if (plan.columns.size() == 1) {
        // One field: a number (width 1) or an array of `width` numbers.
        const std::string& name = plan.columns[0];
        simdjson::dom::element field;
        if (object.at_key(name).get(field) != simdjson::SUCCESS) {
          return absl::InvalidArgumentError(fmt::format("field '{}' is missing", name));
        }
        simdjson::dom::array array;
        if (field.get_array().get(array) == simdjson::SUCCESS &&
            static_cast<int64_t>(array.size()) == plan.width) {
          int64_t e = 0;
          for (simdjson::dom::element value : array) {
            absl::Status s = StoreJsonValue(value, inputs[i], index * plan.width + e++);
            if (!s.ok()) return Named(name, s);
          }
          continue;
        }
        if (plan.width == 1 && !field.is_array() && !field.is_object()) {
          absl::Status s = StoreJsonValue(field, inputs[i], index);
          if (!s.ok()) return Named(name, s);
          continue;
        }
        return absl::InvalidArgumentError(
            fmt::format("field '{}' must be {}", name,
                        plan.width == 1 ? std::string("a number")
                                        : fmt::format("an array of {} numbers", plan.width)));
      }
      for (int64_t e = 0; e < plan.width; ++e) {
        simdjson::dom::element field;
        if (object.at_key(plan.columns[e]).get(field) != simdjson::SUCCESS || field.is_array() ||
            field.is_object()) {
          return absl::InvalidArgumentError(
              fmt::format("field '{}' is missing or not a number", plan.columns[e]));
        }
        absl::Status s = StoreJsonValue(field, inputs[i], index * plan.width + e);
        if (!s.ok()) return Named(plan.columns[e], s);
      }
    }
    return absl::OkStatus();
  }

 private:
  static absl::Status Named(const std::string& name, const absl::Status& s) {
    return absl::InvalidArgumentError(
        fmt::format("field '{}': {}", name, std::string(s.message())));
  }
  const store::KeySchema key_;
  std::vector<InputPlan> inputs_;
};

}  // namespace

absl::Status ParseMappingFlag(std::string_view flag, InputMapping& mapping) {
  const size_t eq = flag.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return absl::InvalidArgumentError(
        fmt::format("--map '{}' is not INPUT=COLUMN,COLUMN,...", flag));
  }
  std::vector<std::string>& columns = mapping[std::string(Trim(flag.substr(0, eq)))];
  std::string_view rest = flag.substr(eq + 1);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view column = Trim(rest.substr(0, comma));
    if (!column.empty()) columns.emplace_back(column);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  if (columns.empty()) {
    return absl::InvalidArgumentError(fmt::format("--map '{}' names no columns", flag));
  }
  return absl::OkStatus();
}

absl::Status StoreNumber(std::string_view field, core::Tensor& tensor, int64_t element) {
  if (field.empty()) return absl::InvalidArgumentError("the value is empty");
  if (!field.empty() && field.front() == '+') field.remove_prefix(1);
  return core::VisitDataType(tensor.dtype, [&](auto tag) -> absl::Status {
    using Tag = decltype(tag);
    if constexpr (Tag::kIsInteger || Tag::kIsFloat) {
      return ParseInto<typename Tag::Element>(field, tensor, element);
    } else if constexpr (Tag::kIsBool) {
      if (field == "true" || field == "1") {
        tensor.data[element] = 1;
      } else if (field == "false" || field == "0") {
        tensor.data[element] = 0;
      } else {
        return absl::InvalidArgumentError(fmt::format("'{}' is not a BOOL", field));
      }
      return absl::OkStatus();
    } else {
      return absl::InvalidArgumentError(fmt::format("strata batch cannot fill {} inputs from text",
                                                    core::DataTypeName(tensor.dtype)));
    }
  });
}

absl::Status SplitCsv(std::string_view line, std::vector<std::string_view>& fields,
                      std::deque<std::string>& storage) {
  size_t i = 0;
  while (true) {
    if (i < line.size() && line[i] == '"') {
      std::string value;
      size_t j = i + 1;
      while (true) {
        if (j >= line.size()) {
          return absl::InvalidArgumentError("a quoted field is not closed");
        }
        if (line[j] == '"') {
          if (j + 1 < line.size() && line[j + 1] == '"') {
            value.push_back('"');
            j += 2;
            continue;
          }
          break;
        }
        value.push_back(line[j++]);
      }
      ++j;  // closing quote
      if (j < line.size() && line[j] != ',') {
        return absl::InvalidArgumentError("text after a closing quote");
      }
      storage.push_back(std::move(value));
      fields.emplace_back(storage.back());
      i = j;
    } else {
      const size_t comma = line.find(',', i);
      const size_t end = comma == std::string_view::npos ? line.size() : comma;
      fields.push_back(line.substr(i, end - i));
      i = end;
    }
    if (i >= line.size()) break;
    ++i;  // the comma
    if (i == line.size()) {
      fields.emplace_back();
      break;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<RowDecoder>> RowDecoder::Create(InputFormat format,
                                                               std::string_view header,
                                                               const store::KeySchema& key,
                                                               const runtime::ModelConfig& model,
                                                               const InputMapping& mapping) {
  const bool batched = model.max_batch_size > 0;
  for (const auto& [name, columns] : mapping) {
    bool known = false;
    for (const runtime::TensorSpec& spec : model.inputs) known |= spec.name == name;
    if (!known) {
      return absl::InvalidArgumentError(
          fmt::format("--map names '{}', which is not an input of model '{}'", name, model.name));
    }
  }
  std::vector<std::string_view> names;
  std::deque<std::string> storage;
  if (format == InputFormat::kCsv) {
    if (absl::Status s = SplitCsv(header, names, storage); !s.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("the CSV header: {}", std::string(s.message())));
    }
    for (std::string_view& n : names) n = Trim(n);
  }
  auto position = [&](std::string_view column) -> std::optional<size_t> {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == column) return i;
    }
    return std::nullopt;
  };
  std::set<std::string, std::less<>> key_names;
  std::vector<size_t> key_indices;
  for (const store::KeyColumn& column : key.columns()) {
    key_names.insert(column.name);
    if (format != InputFormat::kCsv) continue;
    std::optional<size_t> at = position(column.name);
    if (!at) {
      return absl::InvalidArgumentError(fmt::format("key column '{}' is not in the CSV header ({})",
                                                    column.name, fmt::join(names, ",")));
    }
    key_indices.push_back(*at);
  }
  std::vector<InputPlan> plans;
  for (const runtime::TensorSpec& spec : model.inputs) {
    InputPlan plan;
    absl::StatusOr<int64_t> width = ElementsPerRow(spec, batched);
    if (!width.ok()) return width.status();
    plan.width = *width;
    if (auto it = mapping.find(spec.name); it != mapping.end()) {
      plan.columns = it->second;
    } else if (format == InputFormat::kJsonl || position(spec.name)) {
      plan.columns = {spec.name};
    } else if (model.inputs.size() == 1) {
      for (std::string_view n : names) {
        if (!key_names.contains(n)) plan.columns.emplace_back(n);
      }
    } else {
      return absl::InvalidArgumentError(
          fmt::format("model input '{}' has no column; name one with --map {}=COLUMN,...",
                      spec.name, spec.name));
    }
    const bool array_field = format == InputFormat::kJsonl && plan.columns.size() == 1;
    if (!array_field && static_cast<int64_t>(plan.columns.size()) != plan.width) {
      return absl::InvalidArgumentError(
          fmt::format("model input '{}' takes {} values per row but {} columns map to it ({})",
                      spec.name, plan.width, plan.columns.size(), fmt::join(plan.columns, ",")));
    }
    if (format == InputFormat::kCsv) {
      for (const std::string& column : plan.columns) {
        std::optional<size_t> at = position(column);
        if (!at) {
          return absl::InvalidArgumentError(fmt::format(
              "column '{}' of model input '{}' is not in the CSV header", column, spec.name));
        }
        plan.indices.push_back(*at);
      }
    }
    plans.push_back(std::move(plan));
  }
  if (format == InputFormat::kCsv) {
    return std::unique_ptr<RowDecoder>(
        new CsvRowDecoder(key, std::move(key_indices), std::move(plans), names.size()));
  }
  return std::unique_ptr<RowDecoder>(new JsonlRowDecoder(key, std::move(plans)));
}

}  // namespace strata::batch
