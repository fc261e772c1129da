// The flags of `strata serve` that secure its frontends (docs/security.md):
// TLS from one certificate configuration for REST and gRPC (mutual TLS
// with a client CA), an admin listener for /metrics and the control API,
// and the keys file of API keys and tenants' rate limits.
#ifndef STRATA_CLI_SECURITY_FLAGS_H_
#define STRATA_CLI_SECURITY_FLAGS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "api/access_guard.h"
#include "api/payload_log.h"
#include "api/tls_server_context.h"

namespace strata::cli {

struct SecurityFlags {
  api::TlsFiles tls;
  int admin_port = -1;  // -1: /metrics and the control API on the main port
  std::string keys_file;
  int64_t reload_interval_ms = 1000;  // keys file and certificates
};

void AddSecurityFlags(CLI::App& serve, SecurityFlags& flags);

// The guard of the keys file; null, with a warning in the log, when there
// is none (every route is open, as without this feature).
absl::StatusOr<std::unique_ptr<api::AccessGuard>> OpenAccessGuard(const SecurityFlags& flags);

// The payload log `--payload-log FILE` asks for, redacted by the policy file
// (required) and hashing with `hasher`; INVALID_ARGUMENT naming the flag
// that is wrong.
absl::StatusOr<std::unique_ptr<api::PayloadLog>> OpenPayloadLogFile(const std::string& file,
                                                                    const std::string& policy_file,
                                                                    double sample,
                                                                    const std::string& max_size,
                                                                    api::FieldHasher hasher);

}  // namespace strata::cli

#endif  // STRATA_CLI_SECURITY_FLAGS_H_
