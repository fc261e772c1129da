#include "serving/key_log.h"

#include <chrono>
#include <cstring>
#include <random>

#include "core/fingerprint.h"
#include "core/text_escape.h"
#include "fmt/format.h"
#include "serving/row_keys.h"

namespace strata::serving {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

absl::StatusOr<std::unique_ptr<KeyLog>> KeyLog::Open(KeyLogOptions options) {
  if (!(options.sample > 0 && options.sample <= 1)) {
    return absl::InvalidArgumentError(
        fmt::format("key log sample {} is not in (0, 1]", options.sample));
  }
  std::FILE* file = std::fopen(options.path.c_str(), "a");
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("cannot open key log {}: {}", options.path, std::strerror(errno)));
  }
  return std::unique_ptr<KeyLog>(new KeyLog(std::move(options), file));
}

KeyLog::~KeyLog() { std::fclose(file_); }

std::vector<std::string> KeyLog::Lines(std::string_view endpoint,
                                       const std::vector<std::string>& key_columns,
                                       const core::InferRequest& request, double ts) const {
  return LinesFor(endpoint, RowKeyTexts(key_columns, request), ts);
}

std::vector<std::string> KeyLog::LinesFor(std::string_view endpoint,
                                          const std::vector<std::string>& row_keys,
                                          double ts) const {
  static thread_local std::mt19937_64 random(std::random_device{}());
  std::uniform_real_distribution<double> uniform(0, 1);
  std::vector<std::string> lines;
  std::string prefix = fmt::format("{{\"ts\":{:.3f},\"endpoint\":", ts);
  core::AppendJsonString(endpoint, prefix);
  std::string marker;
  for (const std::string& row_key : row_keys) {
    if (options_.sample < 1 && uniform(random) >= options_.sample) continue;
    std::string_view key = row_key;
    if (key.size() > core::kMaxKeyBytes) key = marker = core::KeyFingerprintMarker(key);
    std::string line = prefix;
    if (options_.key_hasher) {
      line += fmt::format(",\"key_hash\":\"{}\"", options_.key_hasher(key));
    } else if (options_.hash) {
      line += fmt::format(",\"key_hash\":\"{}\"", core::FingerprintHex(core::Fingerprint64(key)));
    } else {
      line += ",\"key\":";
      line += key;
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
  RecordKeys(endpoint, RowKeyTexts(key_columns, request));
}

void KeyLog::RecordKeys(std::string_view endpoint, const std::vector<std::string>& row_keys) {
  const std::vector<std::string> lines = LinesFor(endpoint, row_keys, NowSeconds());
  if (lines.empty()) return;
  std::string text;
  for (const std::string& line : lines) text += line;
  core::MutexLock lock(mutex_);
  std::fwrite(text.data(), 1, text.size(), file_);
  std::fflush(file_);
}

}  // namespace strata::serving
