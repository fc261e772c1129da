#include "api/kserve_json_codec.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <type_traits>

#include "api/json_writing.h"
#include "api/reserved_parameters.h"
#include "api/version_state_text.h"
#include "core/buffer_pool.h"
#include "core/status_macros.h"
#include "fmt/format.h"
#include "rapidjson/writer.h"
#include "simdjson.h"

namespace strata::api {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
// RapidJSON's output stream into the std::string that becomes the body: no
// intermediate buffer to grow and then copy. It writes through a cursor into
// a string grown ahead (geometrically) and cut to length by Take(), and takes
// RapidJSON's reserve-then-write-unchecked path for strings and raw numbers:
// std::string::push_back per character was 4% of an MLP request's
// instructions and 9% of a static lookup's.
class StringSink {
 public:
  using Ch = char;
  // The body is written into a string an earlier answer gave back, when one
  // is large enough (core/buffer_pool.h; the HTTP session gives it back).
  explicit StringSink(size_t expected = 256) : out_(core::BodyPool::Take(expected)) {
    out_.resize(expected);
  }
  void Put(char c) {
    if (pos_ == out_.size()) Grow(1);
    out_[pos_++] = c;
  }
  void Reserve(size_t count) {
    if (out_.size() - pos_ < count) Grow(count);
  }
  // REQUIRES: Reserve() made room.
  void PutUnchecked(char c) { out_[pos_++] = c; }
  // REQUIRES: Reserve() made room for `count` characters.
  void PutBlockUnchecked(const char* s, size_t count) {
    std::memcpy(out_.data() + pos_, s, count);
    pos_ += count;
  }
  void Flush() {}
  // The body written so far; the sink is empty afterwards.
  std::string Take() {
    out_.resize(pos_);
    pos_ = 0;
    return std::move(out_);
  }

 private:
  void Grow(size_t count) { out_.resize(std::max(out_.size() * 2, pos_ + count + 64)); }

  std::string out_;
  size_t pos_ = 0;
};

}  // namespace
}  // namespace strata::api

namespace rapidjson {
template <>
inline void PutReserve(strata::api::StringSink& sink, size_t count) {
  sink.Reserve(count);
}
template <>
inline void PutUnsafe(strata::api::StringSink& sink, char c) {
  sink.PutUnchecked(c);
}
}  // namespace rapidjson

namespace strata::api {
namespace {

// RapidJSON's writer (without kWriteNanAndInfFlag: bare NaN and Infinity
// are not JSON, so non-finite values are written as strings, WriteNumber),
// with a faster String and Key: a string with nothing to escape (no '"',
// '\\' or control character; names, keys, datatypes, model names) is copied
// whole, where RapidJSON looks each character up in its escape table
// (WriteString was 6.5% of a static lookup's instructions). The bytes
// written are the same.
//
// Its stack of open objects and arrays lives in a buffer inside the writer:
// RapidJSON's default allocates the allocator and then the stack, two heap
// allocations per body; JSON nested deeper than the buffer holds (more than
// about 60 levels) takes a heap chunk.
class WriterStack {
 protected:
  alignas(std::max_align_t) char stack_buffer_[1024];
  rapidjson::MemoryPoolAllocator<> stack_allocator_{stack_buffer_, sizeof(stack_buffer_)};
};

class Writer : private WriterStack,
               public rapidjson::Writer<StringSink, rapidjson::UTF8<>, rapidjson::UTF8<>,
                                        rapidjson::MemoryPoolAllocator<>> {
 public:
  using Base = rapidjson::Writer<StringSink, rapidjson::UTF8<>, rapidjson::UTF8<>,
                                 rapidjson::MemoryPoolAllocator<>>;
  explicit Writer(StringSink& sink) : WriterStack(), Base(sink, &stack_allocator_) {}

  bool String(const char* s, rapidjson::SizeType length, bool copy = false) {
    if (!IsPlain(s, length)) return Base::String(s, length, copy);
    Prefix(rapidjson::kStringType);
    os_->Reserve(length + 2);
    os_->PutUnchecked('"');
    os_->PutBlockUnchecked(s, length);
    os_->PutUnchecked('"');
    return EndValue(true);
  }
  bool String(const char* s) { return String(s, static_cast<rapidjson::SizeType>(std::strlen(s))); }
  bool Key(const char* s, rapidjson::SizeType length, bool copy = false) {
    return String(s, length, copy);
  }
  bool Key(const char* s) { return String(s); }

 private:
  static bool IsPlain(const char* s, size_t length) {
    for (size_t i = 0; i < length; ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x20 || c == '"' || c == '\\') return false;
    }
    return true;
  }
};

absl::Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

absl::StatusOr<core::Parameters> DecodeParameters(element node, ParameterScope scope) {
  simdjson::dom::object object;
  if (node.get_object().get(object)) {
    return Invalid("'parameters' must be a JSON object");
  }
  core::Parameters parameters;
  for (auto [key, value] : object) {
    core::ParameterValue parsed;
    switch (value.type()) {
      case element_type::BOOL:
        parsed = bool(value.get_bool());
        break;
      case element_type::INT64:
        parsed = int64_t(value.get_int64());
        break;
      case element_type::UINT64:
        parsed = double(value.get_uint64());
        break;
      case element_type::DOUBLE:
        parsed = double(value.get_double());
        break;
      case element_type::STRING:
        parsed = std::string(value.get_string().value());
        break;
      default:
        return Invalid(fmt::format("parameter '{}' must be a string, number or boolean", key));
    }
    STRATA_RETURN_IF_ERROR(CheckParameter(scope, key, parsed));
    parameters.emplace(std::string(key), std::move(parsed));
  }
  return parameters;
}

template <typename T>
void AppendValue(T value, std::vector<uint8_t>& out) {
  const size_t offset = out.size();
  out.resize(offset + sizeof(T));
  std::memcpy(out.data() + offset, &value, sizeof(T));
}

template <typename T>
absl::Status AppendInteger(element value, const std::string& tensor, std::vector<uint8_t>& out) {
  const std::string_view type = std::is_signed_v<T> ? "signed" : "unsigned";
  if (value.is_int64()) {
    const int64_t v = value.get_int64();
    if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
        (v > 0 && static_cast<uint64_t>(v) > std::numeric_limits<T>::max())) {
      return Invalid(fmt::format("input '{}': value {} is out of range for its {} {}-bit datatype",
                                 tensor, v, type, sizeof(T) * 8));
    }
    AppendValue(static_cast<T>(v), out);
    return absl::OkStatus();
  }
  if (value.is_uint64()) {
    const uint64_t v = value.get_uint64();
    if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
      return Invalid(fmt::format("input '{}': value {} is out of range for its {} {}-bit datatype",
                                 tensor, v, type, sizeof(T) * 8));
    }
    AppendValue(static_cast<T>(v), out);
    return absl::OkStatus();
  }
  return Invalid(
      fmt::format("input '{}': expected an integer, got {}", tensor, simdjson::to_string(value)));
}

// The non-finite values as EncodeInferResponse writes them (JSON has no
// literal for them); nullopt for any other string.
std::optional<double> NonFiniteFromString(std::string_view s) {
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s == "Infinity") return std::numeric_limits<double>::infinity();
  if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
  return std::nullopt;
}

// The smallest magnitude that rounds to infinity in T: the largest finite
// value plus half a unit in its last place (2^128 - 2^103 for float). A
// double holds any finite double.
template <typename T>
double FloatOverflow() {
  if constexpr (std::is_same_v<T, double>) {
    return std::numeric_limits<double>::infinity();
  } else {
    constexpr int kMaxExponent = std::numeric_limits<T>::max_exponent;  // 128
    constexpr int kDigits = std::numeric_limits<T>::digits;             // 24
    return std::ldexp(1.0, kMaxExponent) - std::ldexp(1.0, kMaxExponent - kDigits - 1);
  }
}

// A JSON number, or "NaN", "Infinity" or "-Infinity". A finite number that
// T cannot hold (1e39 for FP32) is refused, as out-of-range integers are,
// rather than turned into infinity.
template <typename T>
absl::Status AppendFloat(element value, const std::string& tensor, std::vector<uint8_t>& out) {
  double v = 0;
  std::string_view text;
  if (!value.get_string().get(text)) {
    std::optional<double> special = NonFiniteFromString(text);
    if (!special) {
      return Invalid(
          fmt::format("input '{}': expected a number (or \"NaN\", \"Infinity\", "
                      "\"-Infinity\"), got {}",
                      tensor, simdjson::to_string(value)));
    }
    v = *special;
  } else if (value.get_double().get(v)) {
    return Invalid(
        fmt::format("input '{}': expected a number, got {}", tensor, simdjson::to_string(value)));
  } else if (std::abs(v) >= FloatOverflow<T>()) {
    return Invalid(
        fmt::format("input '{}': value {} is out of range for its {}-bit "
                    "floating-point datatype",
                    tensor, simdjson::to_string(value), sizeof(T) * 8));
  }
  AppendValue(static_cast<T>(v), out);
  return absl::OkStatus();
}

absl::Status AppendElement(element value, core::DataType dtype, const std::string& tensor,
                           std::vector<uint8_t>& out) {
  return core::VisitDataType(dtype, [&](auto tag) -> absl::Status {
    using Tag = decltype(tag);
    using T = typename Tag::Element;
    if constexpr (Tag::kIsBool) {
      bool v = false;
      if (value.get_bool().get(v)) {
        return Invalid(fmt::format("input '{}': BOOL data must be true or false, got {}", tensor,
                                   simdjson::to_string(value)));
      }
      AppendValue<uint8_t>(v ? 1 : 0, out);
      return absl::OkStatus();
    } else if constexpr (Tag::kIsInteger) {
      return AppendInteger<T>(value, tensor, out);
    } else if constexpr (Tag::kIsFloat) {
      return AppendFloat<T>(value, tensor, out);
    } else if constexpr (Tag::kIsBytes) {
      std::string_view v;
      if (value.get_string().get(v)) {
        return Invalid(fmt::format("input '{}': BYTES data must be JSON strings, got {}", tensor,
                                   simdjson::to_string(value)));
      }
      core::AppendBytesElement(v, out);
      return absl::OkStatus();
    } else {
      static_assert(Tag::kIsHalf);
      return Invalid(
          fmt::format("input '{}': {} cannot be sent as JSON; send it in binary form (the "
                      "binary_data_size parameter and Inference-Header-Content-Length), or as FP32",
                      tensor, core::DataTypeName(dtype)));
    }
  });
}

// The common case of a float tensor's innermost array, all JSON numbers in
// range, in one loop: the same values AppendFloat stores, without its
// per-element datatype dispatch and string check (about 170 instructions
// per element). False, with `out` as it was, when an element is anything
// else: the caller takes the general path, which names the problem.
template <typename T>
bool AppendFloatArray(simdjson::dom::array array, std::vector<uint8_t>& out) {
  // simdjson's count saturates at 0xFFFFFF: a longer array takes the
  // general path.
  if (array.size() >= 0xFFFFFF) return false;
  const size_t offset = out.size();
  const double overflow = FloatOverflow<T>();
  out.resize(offset + array.size() * sizeof(T));
  uint8_t* next = out.data() + offset;
  for (element child : array) {
    double v = 0;
    if (!child.is_number() || child.get_double().get(v) || std::abs(v) >= overflow) {
      out.resize(offset);
      return false;
    }
    const T value = static_cast<T>(v);
    std::memcpy(next, &value, sizeof(T));
    next += sizeof(T);
  }
  return true;
}

bool AppendFastPath(simdjson::dom::array array, core::DataType dtype, std::vector<uint8_t>& out) {
  if (dtype == core::DataType::kFp32) return AppendFloatArray<float>(array, out);
  if (dtype == core::DataType::kFp64) return AppendFloatArray<double>(array, out);
  return false;
}

// Appends `node` (an element or a nested array of elements) in row-major order.
absl::Status AppendData(element node, core::DataType dtype, const std::string& tensor,
                        std::vector<uint8_t>& out, int depth) {
  if (!node.is_array()) return AppendElement(node, dtype, tensor, out);
  if (depth > 32) {
    return Invalid(fmt::format("input '{}': data is nested too deeply", tensor));
  }
  if (AppendFastPath(node.get_array(), dtype, out)) return absl::OkStatus();
  for (element child : node.get_array()) {
    STRATA_RETURN_IF_ERROR(AppendData(child, dtype, tensor, out, depth + 1));
  }
  return absl::OkStatus();
}

// Moves the next `size` bytes of `binary` (the blobs after the JSON header)
// into `tensor`, and checks them against its shape and datatype.
absl::StatusOr<core::Tensor> TakeBinaryData(core::Tensor tensor, int64_t size,
                                            std::string_view& binary) {
  if (static_cast<uint64_t>(size) > binary.size()) {
    return Invalid(
        fmt::format("input '{}': binary_data_size is {} bytes but only {} bytes of binary data "
                    "are left after the JSON header (Inference-Header-Content-Length) and the "
                    "inputs before it",
                    tensor.name, size, binary.size()));
  }
  tensor.data = core::TensorDataPool::Take(static_cast<size_t>(size));
  tensor.data.assign(binary.begin(), binary.begin() + size);
  binary.remove_prefix(static_cast<size_t>(size));
  // The blob's framing is part of the wire format: check it here, whatever
  // model the request is for.
  STRATA_RETURN_IF_ERROR(core::ValidateTensorData(tensor));
  return tensor;
}

// An input's name, datatype and shape: a tensor without data.
absl::StatusOr<core::Tensor> DecodeInputHeader(const simdjson::dom::object& object, size_t index) {
  core::Tensor tensor;
  std::string_view name;
  if (object["name"].get_string().get(name) || name.empty()) {
    return Invalid(fmt::format("inputs[{}] needs a non-empty string 'name'", index));
  }
  tensor.name = std::string(name);
  std::string_view dtype_name;
  if (object["datatype"].get_string().get(dtype_name)) {
    return Invalid(fmt::format("input '{}' needs a string 'datatype', e.g. \"FP32\"", tensor.name));
  }
  std::optional<core::DataType> dtype = core::DataTypeFromName(dtype_name);
  if (!dtype) {
    return Invalid(
        fmt::format("input '{}' has unknown datatype '{}'; use one of BOOL, UINT8, UINT16, "
                    "UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, BF16, FP32, FP64, BYTES",
                    tensor.name, dtype_name));
  }
  tensor.dtype = *dtype;
  simdjson::dom::array shape;
  if (object["shape"].get_array().get(shape)) {
    return Invalid(fmt::format("input '{}' needs a 'shape' array of integers", tensor.name));
  }
  tensor.shape.reserve(shape.size());
  for (element dim : shape) {
    int64_t value = 0;
    if (dim.get_int64().get(value) || value < 0) {
      return Invalid(
          fmt::format("input '{}' has an invalid shape dimension {}; dimensions are "
                      "non-negative integers",
                      tensor.name, simdjson::to_string(dim)));
    }
    tensor.shape.push_back(value);
  }
  return tensor;
}

// Fills `tensor` from the input's 'data', or from the front of `binary` when
// the input has a binary_data_size parameter.
absl::StatusOr<core::Tensor> DecodeInputData(const simdjson::dom::object& object,
                                             core::Tensor tensor, std::string_view& binary) {
  core::Parameters parameters;
  if (element params; !object["parameters"].get(params)) {
    STRATA_ASSIGN_OR_RETURN(parameters, DecodeParameters(params, ParameterScope::kInput));
  }
  element data;
  const bool has_data = !object["data"].get(data);
  if (auto size = parameters.find("binary_data_size"); size != parameters.end()) {
    if (has_data) {
      return Invalid(fmt::format(
          "input '{}' has both 'data' and a binary_data_size; send its data one way", tensor.name));
    }
    return TakeBinaryData(std::move(tensor), std::get<int64_t>(size->second), binary);
  }
  if (!has_data) {
    return Invalid(
        fmt::format("input '{}' has no 'data' (nor a binary_data_size parameter)", tensor.name));
  }
  // Decoded straight into a buffer an earlier request gave back, when one is
  // large enough (core/buffer_pool.h). The shape is not checked yet: its
  // size only sizes the buffer, within a bound.
  size_t expected = 0;
  if (std::optional<int64_t> count = core::ElementCount(tensor.shape);
      count && tensor.dtype != core::DataType::kBytes) {
    expected =
        static_cast<size_t>(std::min<int64_t>(*count, 1 << 24) * core::ElementSize(tensor.dtype));
  }
  tensor.data = core::TensorDataPool::Take(expected);
  STRATA_RETURN_IF_ERROR(AppendData(data, tensor.dtype, tensor.name, tensor.data, 0));
  return tensor;
}

// `binary`: the blobs that follow the JSON header; an input with a
// binary_data_size parameter takes its data from their front.
absl::StatusOr<core::Tensor> DecodeInput(element node, size_t index, std::string_view& binary) {
  simdjson::dom::object object;
  if (node.get_object().get(object)) {
    return Invalid(fmt::format("inputs[{}] must be a JSON object", index));
  }
  absl::StatusOr<core::Tensor> tensor = DecodeInputHeader(object, index);
  if (!tensor.ok()) return tensor.status();
  return DecodeInputData(object, *std::move(tensor), binary);
}

absl::StatusOr<core::RequestedOutput> DecodeOutput(element node, size_t index) {
  core::RequestedOutput output;
  std::string_view name;
  if (node["name"].get_string().get(name)) {
    return Invalid(fmt::format("outputs[{}] needs a string 'name'", index));
  }
  output.name = std::string(name);
  element params;
  if (!node["parameters"].get(params)) {
    STRATA_ASSIGN_OR_RETURN(output.parameters, DecodeParameters(params, ParameterScope::kOutput));
  }
  return output;
}

simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

}  // namespace

absl::StatusOr<core::InferRequest> DecodeInferRequest(std::string_view body,
                                                      std::string_view binary) {
  element root;
  if (auto error = ThreadParser().parse(body.data(), body.size(), true).get(root)) {
    return Invalid(
        fmt::format("malformed JSON in request body: {}", simdjson::error_message(error)));
  }
  if (!root.is_object()) {
    return Invalid("the request body must be a JSON object with 'inputs'");
  }
  core::InferRequest request;
  std::string_view id;
  if (element node; !root["id"].get(node)) {
    if (node.get_string().get(id)) return Invalid("'id' must be a string");
    request.id = std::string(id);
    request.has_id = true;
  }
  if (element node; !root["parameters"].get(node)) {
    STRATA_ASSIGN_OR_RETURN(request.parameters, DecodeParameters(node, ParameterScope::kRequest));
  }
  simdjson::dom::array inputs;
  if (root["inputs"].get_array().get(inputs)) {
    return Invalid("the request needs an 'inputs' array");
  }
  size_t index = 0;
  for (element input : inputs) {
    STRATA_ASSIGN_OR_RETURN(core::Tensor tensor, DecodeInput(input, index++, binary));
    request.inputs.push_back(std::move(tensor));
  }
  if (!binary.empty()) {
    return Invalid(
        fmt::format("{} bytes of binary data follow the JSON header but no input claims them; "
                    "each binary input needs a binary_data_size parameter, and the sizes must "
                    "add up to the body's length minus Inference-Header-Content-Length",
                    binary.size()));
  }
  if (element node; !root["outputs"].get(node)) {
    simdjson::dom::array outputs;
    if (node.get_array().get(outputs)) return Invalid("'outputs' must be an array");
    index = 0;
    for (element output : outputs) {
      STRATA_ASSIGN_OR_RETURN(core::RequestedOutput requested, DecodeOutput(output, index++));
      request.outputs.push_back(std::move(requested));
    }
  }
  return request;
}

namespace {

float HalfToFloat(uint16_t h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

template <typename T, typename F>
void WriteEach(const core::Tensor& tensor, F&& write) {
  const uint8_t* p = tensor.data.data();
  for (size_t i = 0; i + sizeof(T) <= tensor.data.size(); i += sizeof(T)) {
    T value;
    std::memcpy(&value, p + i, sizeof(T));
    write(value);
  }
}

// A double; a non-finite one as the string "NaN", "Infinity" or
// "-Infinity", which strict JSON parsers accept and numpy (tritonclient's
// as_numpy, the KServe SDK) reads back as the float value.
void WriteNumber(Writer& w, double v) {
  if (std::isnan(v)) {
    w.String("NaN");
  } else if (std::isinf(v)) {
    w.String(v > 0 ? "Infinity" : "-Infinity");
  } else {
    w.Double(v);
  }
}

// A float32 (or narrower) value in the shortest form that parses back to
// the same float32 ("2.6235104", not the widened double's
// "2.6235103607177736"): smaller bodies and cheaper formatting; clients
// that read it as float32 get the exact value. Non-finite values as
// WriteNumber writes them.
void WriteFloat(Writer& w, float v) {
  if (!std::isfinite(v)) {
    WriteNumber(w, v);
    return;
  }
  char text[32];
  auto [end, ec] = std::to_chars(text, text + sizeof text - 2, v);
  if (ec != std::errc()) {
    WriteNumber(w, v);
    return;
  }
  // An integral value keeps a ".0", as RapidJSON writes doubles, so that
  // readers which guess types from the JSON still see a float.
  if (std::find_if(text, end, [](char c) { return c == '.' || c == 'e'; }) == end) {
    *end++ = '.';
    *end++ = '0';
  }
  w.RawValue(text, static_cast<size_t>(end - text), rapidjson::kNumberType);
}

void WriteData(const core::Tensor& tensor, Writer& w) {
  w.StartArray();
  core::VisitDataType(tensor.dtype, [&](auto tag) {
    using Tag = decltype(tag);
    using T = typename Tag::Element;
    if constexpr (Tag::kIsBool) {
      WriteEach<T>(tensor, [&](T v) { w.Bool(v != 0); });
    } else if constexpr (Tag::kIsInteger && std::is_unsigned_v<T> && sizeof(T) == 8) {
      WriteEach<T>(tensor, [&](T v) { w.Uint64(v); });
    } else if constexpr (Tag::kIsInteger && std::is_unsigned_v<T>) {
      WriteEach<T>(tensor, [&](T v) { w.Uint(v); });
    } else if constexpr (Tag::kIsInteger && sizeof(T) == 8) {
      WriteEach<T>(tensor, [&](T v) { w.Int64(v); });
    } else if constexpr (Tag::kIsInteger) {
      WriteEach<T>(tensor, [&](T v) { w.Int(v); });
    } else if constexpr (Tag::kDataType == core::DataType::kFp16) {
      WriteEach<T>(tensor, [&](T v) { WriteFloat(w, HalfToFloat(v)); });
    } else if constexpr (Tag::kDataType == core::DataType::kBf16) {
      WriteEach<T>(tensor, [&](T v) {
        const uint32_t bits = uint32_t{v} << 16;
        float f;
        std::memcpy(&f, &bits, sizeof(f));
        WriteFloat(w, f);
      });
    } else if constexpr (std::is_same_v<T, float>) {
      WriteEach<T>(tensor, [&](T v) { WriteFloat(w, v); });
    } else if constexpr (std::is_same_v<T, double>) {
      WriteEach<T>(tensor, [&](T v) { WriteNumber(w, v); });
    } else {
      static_assert(Tag::kIsBytes);
      std::vector<std::string_view> elements;
      if (core::SplitBytesElements(tensor.data, elements).ok()) {
        for (std::string_view e : elements)
          w.String(e.data(), static_cast<rapidjson::SizeType>(e.size()));
      }
    }
  });
  w.EndArray();
}

void WriteShape(Writer& w, const core::Shape& shape) {
  w.StartArray();
  for (int64_t dim : shape) w.Int64(dim);
  w.EndArray();
}

void WriteParameters(Writer& w, const core::Parameters& parameters) {
  w.StartObject();
  for (const auto& [key, value] : parameters) {
    WriteString(w, key);
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, bool>)
            w.Bool(v);
          else if constexpr (std::is_same_v<V, int64_t>)
            w.Int64(v);
          else if constexpr (std::is_same_v<V, double>)
            WriteNumber(w, v);
          else
            WriteString(w, v);
        },
        value);
  }
  w.EndObject();
}

// About the size of the response's JSON, so that its body is allocated once:
// the fixed keys, and per output its spec and about 12 characters a value.
size_t ResponseSizeHint(const core::InferResponse& response) {
  size_t size = 128 + response.model_name.size() + response.id.size();
  for (const core::Tensor& out : response.outputs) {
    const size_t element = std::max<size_t>(1, core::ElementSize(out.dtype));
    size += 96 + out.name.size() + 12 * (out.data.size() / element);
  }
  return std::min<size_t>(size, size_t{1} << 20);
}

}  // namespace

std::string EncodeInferResponse(const core::InferResponse& response,
                                const std::vector<bool>& binary_outputs) {
  StringSink sink(ResponseSizeHint(response));
  Writer w(sink);
  w.StartObject();
  w.Key("model_name");
  WriteString(w, response.model_name);
  w.Key("model_version");
  WriteString(w, response.model_version);
  if (response.has_id || !response.id.empty()) {
    w.Key("id");
    WriteString(w, response.id);
  }
  if (!response.parameters.empty()) {
    w.Key("parameters");
    WriteParameters(w, response.parameters);
  }
  w.Key("outputs");
  w.StartArray();
  for (size_t i = 0; i < response.outputs.size(); ++i) {
    const core::Tensor& out = response.outputs[i];
    w.StartObject();
    w.Key("name");
    WriteString(w, out.name);
    w.Key("datatype");
    WriteString(w, core::DataTypeName(out.dtype));
    w.Key("shape");
    WriteShape(w, out.shape);
    if (i < binary_outputs.size() && binary_outputs[i]) {
      w.Key("parameters");
      w.StartObject();
      w.Key("binary_data_size");
      w.Uint64(out.data.size());
      w.EndObject();
    } else {
      w.Key("data");
      WriteData(out, w);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return sink.Take();
}

std::string EncodeServerMetadata(const std::string& name, const std::string& version,
                                 const std::vector<std::string>& extensions) {
  StringSink sink;
  Writer w(sink);
  w.StartObject();
  w.Key("name");
  WriteString(w, name);
  w.Key("version");
  WriteString(w, version);
  w.Key("extensions");
  w.StartArray();
  for (const std::string& e : extensions) WriteString(w, e);
  w.EndArray();
  w.EndObject();
  return sink.Take();
}

std::string EncodeModelMetadata(const serving::ServedModel& model) {
  StringSink sink;
  Writer w(sink);
  w.StartObject();
  w.Key("name");
  WriteString(w, model.name);
  w.Key("versions");
  w.StartArray();
  if (model.ready()) WriteString(w, std::to_string(model.version));
  w.EndArray();
  w.Key("platform");
  WriteString(w, model.platform);
  w.Key("inputs");
  WriteTensorSpecs(w, model.config.inputs);
  w.Key("outputs");
  WriteTensorSpecs(w, model.config.outputs);
  w.Key("state");
  WriteString(w, VersionStateText(model.state()));
  if (!model.reason.empty()) {  // why not ready, or a note (last known good)
    w.Key("reason");
    WriteString(w, model.reason);
  }
  w.EndObject();
  return sink.Take();
}

std::string EncodeModelReady(const serving::ServedModel& model) {
  StringSink sink;
  Writer w(sink);
  w.StartObject();
  w.Key("name");
  WriteString(w, model.name);
  w.Key("ready");
  w.Bool(model.ready());
  if (!model.ready()) {
    w.Key("reason");
    WriteString(w, model.reason);
    w.Key("error");
    WriteString(w, fmt::format("model '{}' is not ready: {}", model.name, model.reason));
  }
  w.EndObject();
  return sink.Take();
}

std::string EncodeServerNotReady(std::string_view why) {
  StringSink sink;
  Writer w(sink);
  w.StartObject();
  w.Key("ready");
  w.Bool(false);
  w.Key("error");
  WriteString(w, why);
  w.EndObject();
  return sink.Take();
}

std::string EncodeError(std::string_view message) {
  StringSink sink;
  Writer w(sink);
  w.StartObject();
  w.Key("error");
  WriteString(w, message);
  w.EndObject();
  return sink.Take();
}

}  // namespace strata::api
