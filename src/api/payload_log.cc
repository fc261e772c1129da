#include "api/payload_log.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/text_escape.h"
#include "fmt/format.h"
#include "prometheus/family.h"
#include "spdlog/spdlog.h"

namespace strata::api {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void AppendNames(const std::vector<std::string>& names, std::string& out) {
  out += '[';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    core::AppendJsonString(names[i], out);
  }
  out += ']';
}

std::FILE* OpenForAppend(const std::string& path) { return std::fopen(path.c_str(), "a"); }

}  // namespace

std::string PayloadLine(const PendingPayload& pending, const core::InferResponse& response,
                        const RedactedFields& outputs) {
  std::string line = fmt::format("{{\"ts\":{:.3f},\"request_id\":", pending.ts);
  core::AppendJsonString(pending.request_id, line);
  line += ",\"model\":";
  core::AppendJsonString(response.model_name.empty() ? pending.model : response.model_name, line);
  line += ",\"version\":";
  core::AppendJsonString(response.model_version, line);
  line += ",\"inputs\":" + pending.inputs.json + ",\"outputs\":" + outputs.json;
  line += ",\"dropped_inputs\":";
  AppendNames(pending.inputs.dropped, line);
  line += ",\"dropped_outputs\":";
  AppendNames(outputs.dropped, line);
  line += '}';
  return line;
}

absl::StatusOr<std::unique_ptr<PayloadLog>> PayloadLog::Open(PayloadLogOptions options) {
  if (!(options.sample > 0 && options.sample <= 1)) {
    return absl::InvalidArgumentError(
        fmt::format("--payload-log-sample {} is not in (0, 1]", options.sample));
  }
  std::FILE* file = OpenForAppend(options.path);
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("cannot open payload log {}: {}", options.path, std::strerror(errno)));
  }
  return std::unique_ptr<PayloadLog>(new PayloadLog(std::move(options), file));
}

PayloadLog::PayloadLog(PayloadLogOptions options, std::FILE* file)
    : options_(std::move(options)),
      file_(file),
      registry_(std::make_shared<prometheus::Registry>()) {
  std::error_code ec;
  file_bytes_ = static_cast<size_t>(std::filesystem::file_size(options_.path, ec));
  if (ec) file_bytes_ = 0;
  auto& lines = prometheus::BuildCounter()
                    .Name("strata_payload_log_lines_total")
                    .Help(
                        "Sampled requests of the payload log, by result (written; dropped: the "
                        "queue was full)")
                    .Register(*registry_);
  lines_written_ = &lines.Add({{"result", "written"}});
  lines_dropped_ = &lines.Add({{"result", "dropped"}});
  writer_ = std::thread([this] { WriteLoop(); });
}

PayloadLog::~PayloadLog() {
  {
    core::MutexLock lock(mutex_);
    stopping_ = true;
  }
  wake_.SignalAll();
  writer_.join();
  std::fclose(file_);
}

std::optional<PendingPayload> PayloadLog::Sample(const core::InferRequest& request) const {
  static thread_local std::mt19937_64 random(std::random_device{}());
  std::uniform_real_distribution<double> uniform(0, 1);
  if (options_.sample < 1 && uniform(random) >= options_.sample) return std::nullopt;
  return PendingPayload{
      .ts = NowSeconds(),
      .request_id = request.id,
      .model = request.model_name,
      .inputs = RedactTensors(request.inputs, options_.policy.inputs, options_.hasher)};
}

void PayloadLog::Record(const PendingPayload& pending, const core::InferResponse& response) {
  std::string line =
      PayloadLine(pending, response,
                  RedactTensors(response.outputs, options_.policy.outputs, options_.hasher)) +
      "\n";
  {
    core::MutexLock lock(mutex_);
    if (queued_bytes_ + line.size() > options_.max_queue_bytes) {
      lines_dropped_->Increment();
      return;
    }
    queued_bytes_ += line.size();
    queue_.push_back(std::move(line));
  }
  wake_.Signal();
}

void PayloadLog::Flush() {
  core::MutexLock lock(mutex_);
  while (!queue_.empty() || writing_) written_.Wait(mutex_);
}

void PayloadLog::WriteLoop() {
  while (true) {
    std::string lines;
    {
      core::MutexLock lock(mutex_);
      while (queue_.empty() && !stopping_) wake_.Wait(mutex_);
      if (queue_.empty()) return;  // stopping, and all is written
      for (const std::string& line : queue_) lines += line;
      lines_written_->Increment(static_cast<double>(queue_.size()));
      queue_.clear();
      queued_bytes_ = 0;
      writing_ = true;
    }
    Write(lines);
    {
      core::MutexLock lock(mutex_);
      writing_ = false;
    }
    written_.SignalAll();
  }
}

void PayloadLog::Write(const std::string& lines) {
  if (file_bytes_ > 0 && file_bytes_ + lines.size() > options_.max_file_bytes) {
    std::fclose(file_);
    std::error_code ec;
    std::filesystem::rename(options_.path, options_.path + ".1", ec);
    if (ec) spdlog::warn("payload log {}: not rotated: {}", options_.path, ec.message());
    file_ = OpenForAppend(options_.path);
    file_bytes_ = 0;
    if (file_ == nullptr) {
      spdlog::error("payload log {}: cannot reopen: {}", options_.path, std::strerror(errno));
      file_ = std::fopen("/dev/null", "a");
    }
  }
  std::fwrite(lines.data(), 1, lines.size(), file_);
  std::fflush(file_);
  file_bytes_ += lines.size();
}

std::vector<prometheus::MetricFamily> PayloadLog::Collect() const { return registry_->Collect(); }

}  // namespace strata::api
