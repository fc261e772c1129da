#include "api/audit_log.h"

#include <chrono>
#include <cstring>
#include <ctime>

#include "core/text_escape.h"
#include "fmt/format.h"
#include "rapidjson/document.h"

namespace strata::api {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// "2026-12-03T07:40:01.125Z"
std::string UtcTime(double ts) {
  const std::time_t seconds = static_cast<std::time_t>(ts);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", text, static_cast<int>((ts - double(seconds)) * 1000) % 1000);
}

// The reply's "message" or "error" text, else empty.
std::string ReplyMessage(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return "";
  for (const char* field : {"message", "error"}) {
    if (doc.HasMember(field) && doc[field].IsString()) return doc[field].GetString();
  }
  return "";
}

}  // namespace

AuditEntry DescribeControlCall(const std::vector<std::string>& segments, std::string_view remote) {
  // v2/repository/index, v2/repository/{models|tables}/{name}/{action},
  // v2/repository/tables/index
  AuditEntry entry{.remote = std::string(remote)};
  if (segments.size() == 3) {
    entry.action = segments[2];
  } else if (segments.size() == 4) {
    entry.action = segments[2] + "." + segments[3];
  } else if (segments.size() >= 5) {
    entry.action = segments[2] + "." + segments[4];
    if (segments.size() >= 6) entry.action += "." + segments[5];  // endpoints.rollout.start
    entry.target = segments[3];
  }
  return entry;
}

std::string AuditLine(const AuditEntry& entry, int status, std::string_view body, double ts) {
  return fmt::format(
      R"({{"ts":"{}","remote":{},"action":{},"target":{},"status":{},"outcome":"{}","message":{}}})",
      UtcTime(ts), core::JsonString(entry.remote), core::JsonString(entry.action),
      core::JsonString(entry.target), status, status < 300 ? "ok" : "refused",
      core::JsonString(ReplyMessage(body)));
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("cannot open audit log {}: {}", path, std::strerror(errno)));
  }
  return std::unique_ptr<AuditLog>(new AuditLog(file));
}

AuditLog::~AuditLog() { std::fclose(file_); }

void AuditLog::Record(const AuditEntry& entry, int status, std::string_view body) {
  const std::string line = AuditLine(entry, status, body, NowSeconds()) + "\n";
  core::MutexLock lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

}  // namespace strata::api
