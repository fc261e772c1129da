#include "serving/key_log.h"

#include <chrono>
#include <cstring>
#include <random>

#include "core/fingerprint.h"
#include "fmt/format.h"

namespace strata::serving {
namespace {

void AppendJsonString(std::string_view text, std::string& out) {
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

template <typename T>
int64_t Load(const core::Tensor& t, size_t i) {
  T v;
  std::memcpy(&v, t.data.data() + i * sizeof(T), sizeof(T));
  return static_cast<int64_t>(v);
}

// The JSON text of element `i` of an integer or BYTES tensor; false for
// another datatype.
bool AppendValue(const core::Tensor& t, const std::vector<std::string_view>& strings, size_t i,
                 std::string& out) {
  using core::DataType;
  switch (t.dtype) {
    case DataType::kInt8: out += std::to_string(Load<int8_t>(t, i)); return true;
    case DataType::kInt16: out += std::to_string(Load<int16_t>(t, i)); return true;
    case DataType::kInt32: out += std::to_string(Load<int32_t>(t, i)); return true;
    case DataType::kInt64: out += std::to_string(Load<int64_t>(t, i)); return true;
    case DataType::kUint8: out += std::to_string(Load<uint8_t>(t, i)); return true;
    case DataType::kUint16: out += std::to_string(Load<uint16_t>(t, i)); return true;
    case DataType::kUint32: out += std::to_string(Load<uint32_t>(t, i)); return true;
    case DataType::kUint64: {
      uint64_t v;
      std::memcpy(&v, t.data.data() + i * sizeof v, sizeof v);
      out += std::to_string(v);
      return true;
    }
    case DataType::kBytes: AppendJsonString(strings[i], out); return true;
    default: return false;
  }
}

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

absl::StatusOr<std::unique_ptr<KeyLog>> KeyLog::Open(KeyLogOptions options) {
  if (!(options.sample > 0 && options.sample <= 1)) {
    return absl::InvalidArgumentError(
        fmt::format("key log sample {} is not in (0, 1]", options.sample));
  }
  std::FILE* file = std::fopen(options.path.c_str(), "a");
  if (file == nullptr) {
    return absl::InvalidArgumentError(fmt::format("cannot open key log {}: {}", options.path,
                                                  std::strerror(errno)));
  }
  return std::unique_ptr<KeyLog>(new KeyLog(std::move(options), file));
}

KeyLog::~KeyLog() { std::fclose(file_); }

std::vector<std::string> KeyLog::Lines(std::string_view endpoint,
                                       const std::vector<std::string>& key_columns,
                                       const core::InferRequest& request, double ts) const {
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
  static thread_local std::mt19937_64 random(std::random_device{}());
  std::uniform_real_distribution<double> uniform(0, 1);
  std::vector<std::string> lines;
  std::string prefix = fmt::format("{{\"ts\":{:.3f},\"endpoint\":", ts);
  AppendJsonString(endpoint, prefix);
  for (size_t r = 0; r < rows; ++r) {
    if (options_.sample < 1 && uniform(random) >= options_.sample) continue;
    std::string key = "{";
    for (size_t c = 0; c < columns.size(); ++c) {
      if (c > 0) key += ',';
      AppendJsonString(key_columns[c], key);
      key += ':';
      if (!AppendValue(*columns[c], strings[c], r, key)) return {};
    }
    key += '}';
    std::string line = prefix;
    if (options_.hash) {
      line += fmt::format(",\"key_hash\":\"{}\"", core::FingerprintHex(core::Fingerprint64(key)));
    } else {
      line += ",\"key\":" + key;
    }
    if (options_.sample < 1) line += fmt::format(",\"sample\":{}", options_.sample);
    line += "}\n";
    lines.push_back(std::move(line));
  }
  return lines;
}

void KeyLog::Record(std::string_view endpoint, const std::vector<std::string>& key_columns,
                    const core::InferRequest& request) {
  if (key_columns.empty()) return;
  const std::vector<std::string> lines = Lines(endpoint, key_columns, request, NowSeconds());
  if (lines.empty()) return;
  std::string text;
  for (const std::string& line : lines) text += line;
  std::lock_guard lock(mutex_);
  std::fwrite(text.data(), 1, text.size(), file_);
  std::fflush(file_);
}

}  // namespace strata::serving
