#include "serving/feature_log.h"

#include <cmath>
#include <cstdio>
#include <random>

#include "core/text_escape.h"
#include "fmt/format.h"

namespace strata::serving {
namespace {

void AppendValue(const features::FeatureValue& value, std::string& out) {
  if (const auto* i = std::get_if<int64_t>(&value)) {
    out += std::to_string(*i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    out += std::isfinite(*d) ? fmt::format("{}", *d) : "null";
  } else if (const auto* s = std::get_if<std::string>(&value)) {
    core::AppendJsonString(*s, out);
  } else {
    out += "null";
  }
}

// `{"k":v,...}` from pairs, each value appended by `append`.
template <typename Pairs, typename Append>
void AppendObject(std::string_view name, const Pairs& pairs, Append append, std::string& out) {
  out += fmt::format(",\"{}\":{{", name);
  bool first = true;
  for (const auto& [key, value] : pairs) {
    if (!first) out += ',';
    first = false;
    core::AppendJsonString(key, out);
    out += ':';
    append(value, out);
  }
  out += '}';
}

}  // namespace

std::string FeatureLogLine(const ServedFeatureRow& row) {
  std::string out = fmt::format("{{\"ts\":{},\"request_id\":", row.ts);
  core::AppendJsonString(row.request_id, out);
  out += ",\"model\":";
  core::AppendJsonString(row.model, out);
  out += fmt::format(",\"version\":{}", row.version);
  AppendObject(
      "entities", row.entities,
      [](const std::string& hash, std::string& o) { core::AppendJsonString(hash, o); }, out);
  AppendObject("request", row.request, AppendValue, out);
  AppendObject(
      "tables", row.tables, [](int64_t v, std::string& o) { o += std::to_string(v); }, out);
  out += ",\"vector\":[";
  for (size_t i = 0; i < row.vector.size(); ++i) {
    if (i > 0) out += ',';
    // fmt writes the shortest text that reads back as the same float.
    out += std::isfinite(row.vector[i]) ? fmt::format("{}", row.vector[i]) : "null";
  }
  out += "]}\n";
  return out;
}

absl::StatusOr<std::unique_ptr<FeatureLog>> FeatureLog::Open(FeatureLogOptions options) {
  if (!(options.sample_rate >= 0 && options.sample_rate <= 1)) {
    return absl::InvalidArgumentError(
        fmt::format("--feature-log-sample must be between 0 and 1, got {}", options.sample_rate));
  }
  absl::StatusOr<features::KeyedHasher> hasher = features::KeyedHasher::FromFile(options.secret);
  if (!hasher.ok()) {
    return absl::InvalidArgumentError(fmt::format("--feature-log-secret {}: {}",
                                                  options.secret.string(),
                                                  std::string(hasher.status().message())));
  }
  std::FILE* file = std::fopen(options.file.c_str(), "a");
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("--feature-log {}: cannot open for appending", options.file.string()));
  }
  return std::unique_ptr<FeatureLog>(new FeatureLog(std::move(options), *std::move(hasher), file));
}

FeatureLog::FeatureLog(FeatureLogOptions options, features::KeyedHasher hasher, std::FILE* file)
    : options_(std::move(options)),
      hasher_(std::move(hasher)),
      file_(file),
      thread_([this] { Loop(); }) {}

void FeatureLog::Count(bool written) {
  if (FeatureMetrics* metrics = metrics_.load(std::memory_order_relaxed)) {
    metrics->RecordLogLine(written);
  }
}

FeatureLog::~FeatureLog() {
  {
    core::MutexLock lock(mutex_);
    stopping_ = true;
  }
  queued_.Signal();
  thread_.join();
  std::fclose(file_);
}

bool FeatureLog::Sample() const {
  if (options_.sample_rate >= 1) return true;
  if (options_.sample_rate <= 0) return false;
  static thread_local std::mt19937_64 random(std::random_device{}());
  return std::uniform_real_distribution<double>(0, 1)(random) < options_.sample_rate;
}

void FeatureLog::Write(std::string line) {
  bool kept = false;
  {
    core::MutexLock lock(mutex_);
    if (lines_.size() < options_.max_queued_lines) {
      lines_.push_back(std::move(line));
      kept = true;
    }
  }
  if (kept) {
    queued_.Signal();
  } else {
    Count(false);
  }
}

void FeatureLog::Loop() {
  core::MutexLock lock(mutex_);
  while (true) {
    if (lines_.empty()) {
      if (stopping_) return;
      queued_.Wait(mutex_);
      continue;
    }
    std::deque<std::string> batch;
    batch.swap(lines_);
    mutex_.Unlock();
    for (const std::string& line : batch) {
      std::fwrite(line.data(), 1, line.size(), file_);
      Count(true);
    }
    std::fflush(file_);
    mutex_.Lock();
  }
}

}  // namespace strata::serving
