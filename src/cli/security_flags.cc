#include "cli/security_flags.h"

#include <fstream>
#include <sstream>

#include "cli/byte_size.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace strata::cli {

void AddSecurityFlags(CLI::App& serve, SecurityFlags& flags) {
  CLI::Option* cert =
      serve
          .add_option("--tls-cert", flags.tls.cert,
                      "PEM certificate chain: serve HTTPS and gRPC over TLS (both ports, and "
                      "the admin port); reloaded when the file changes")
          ->check(CLI::ExistingFile);
  serve.add_option("--tls-key", flags.tls.key, "PEM private key of --tls-cert")
      ->check(CLI::ExistingFile)
      ->needs(cert);
  cert->needs(serve.get_option_no_throw("--tls-key"));
  serve
      .add_option("--tls-client-ca", flags.tls.client_ca,
                  "PEM CA bundle: require a client certificate signed by it (mutual TLS)")
      ->check(CLI::ExistingFile)
      ->needs(cert);
  serve
      .add_option("--admin-port", flags.admin_port,
                  "Serve /metrics, the status page and the control API (/v2/repository) on "
                  "this port only, not on --port (0 picks a free one; -1: on --port)")
      ->capture_default_str()
      ->check(CLI::Range(-1, 65535));
  serve
      .add_option("--keys-file", flags.keys_file,
                  "API keys (YAML: hashed secrets, tenants, scopes, models, expiry) and "
                  "tenants' rate limits; every route but the health probes then needs "
                  "`Authorization: Bearer <key>`. Reloaded when it changes")
      ->check(CLI::ExistingFile);
  serve
      .add_option("--security-reload-ms", flags.reload_interval_ms,
                  "How often the keys file and the TLS files are looked at for changes")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

absl::StatusOr<std::unique_ptr<api::AccessGuard>> OpenAccessGuard(const SecurityFlags& flags) {
  if (flags.keys_file.empty()) {
    spdlog::warn(
        "no --keys-file: every route is open to anyone who can reach the ports (no API "
        "keys, scopes or rate limits; docs/security.md)");
    return std::unique_ptr<api::AccessGuard>();
  }
  return api::AccessGuard::Open(
      {.keys_file = flags.keys_file,
       .reload_interval = std::chrono::milliseconds(flags.reload_interval_ms)});
}

absl::StatusOr<std::unique_ptr<api::PayloadLog>> OpenPayloadLogFile(const std::string& file,
                                                                    const std::string& policy_file,
                                                                    double sample,
                                                                    const std::string& max_size,
                                                                    api::FieldHasher hasher) {
  if (policy_file.empty()) {
    return absl::InvalidArgumentError(
        "--payload-log needs --payload-log-policy FILE: which fields are kept, hashed or "
        "dropped (docs/security.md)");
  }
  const std::optional<size_t> max_bytes = ParseByteSize(max_size);
  if (!max_bytes || *max_bytes == 0) {
    return absl::InvalidArgumentError(
        fmt::format("--payload-log-max-size '{}' is not a size; use e.g. 64MiB", max_size));
  }
  std::ifstream in(policy_file);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return absl::InvalidArgumentError(fmt::format("cannot read {}", policy_file));
  absl::StatusOr<api::RedactionPolicy> policy = api::ParseRedactionPolicy(text.str());
  if (!policy.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: {}", policy_file, std::string(policy.status().message())));
  }
  spdlog::info("payload log {}: {} of requests, fields redacted by {} (not named: dropped)", file,
               sample, policy_file);
  return api::PayloadLog::Open({.path = file,
                                .policy = *std::move(policy),
                                .hasher = std::move(hasher),
                                .sample = sample,
                                .max_file_bytes = *max_bytes});
}

}  // namespace strata::cli
