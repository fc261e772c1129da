// AuditLog appends one JSON line per control API call (`strata serve
// --audit-log FILE`): who (the remote address), what (the action and its
// target), when, and the outcome (status and message). Never a body or a
// credential:
//
//   {"ts":"2026-12-03T07:40:01.125Z","remote":"127.0.0.1:53122","action":"models.load",
//    "target":"adder","status":200,"outcome":"ok","message":"..."}
//
// Lines are written whole and flushed. Thread-safe.
#ifndef STRATA_API_AUDIT_LOG_H_
#define STRATA_API_AUDIT_LOG_H_

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/mutex.h"

namespace strata::api {

// What a control call asked for, from its path segments (v2/repository/...).
struct AuditEntry {
  std::string remote = {};  // "address:port"; empty when unknown
  std::string action = {};  // "index", "models.load", "tables.labels", ...
  std::string target = {};  // the model or table name; empty for an index
};

// The action and target of a /v2/repository/... call's path segments.
AuditEntry DescribeControlCall(const std::vector<std::string>& segments, std::string_view remote);

// One audit line (without the newline) for `entry` answered `status` with
// `body` (the reply's JSON: its "message" or "error" becomes the message).
std::string AuditLine(const AuditEntry& entry, int status, std::string_view body, double ts);

class AuditLog {
 public:
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  void Record(const AuditEntry& entry, int status, std::string_view body);

 private:
  explicit AuditLog(std::FILE* file) : file_(file) {}
  core::Mutex mutex_;
  std::FILE* file_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace strata::api

#endif  // STRATA_API_AUDIT_LOG_H_
