#include "api/tls_server_context.h"

#include <sys/stat.h>

#include "fmt/format.h"
#include "openssl/ssl.h"
#include "spdlog/spdlog.h"

namespace strata::api {
namespace {

namespace ssl = boost::asio::ssl;

std::string FileStamp(const std::string& path) {
  if (path.empty()) return "-";
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return "missing";
  return fmt::format("{}.{}:{}:{}", info.st_mtim.tv_sec, info.st_mtim.tv_nsec, info.st_size,
                     info.st_ino);
}

std::string Stamp(const TlsFiles& files) {
  return FileStamp(files.cert) + "|" + FileStamp(files.key) + "|" + FileStamp(files.client_ca);
}

absl::StatusOr<std::shared_ptr<ssl::context>> Build(const TlsFiles& files) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
  // TLS 1.3 suites in the server's order: AES-128-GCM first (as safe, and
  // cheaper per record than AES-256).
  SSL_CTX_set_ciphersuites(context->native_handle(),
                           "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                           "TLS_CHACHA20_POLY1305_SHA256");
  SSL_CTX_set_options(context->native_handle(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  boost::system::error_code ec;
  if (context->use_certificate_chain_file(files.cert, ec); ec) {
    return absl::InvalidArgumentError(fmt::format("--tls-cert {}: {}", files.cert, ec.message()));
  }
  if (context->use_private_key_file(files.key, ssl::context::pem, ec); ec) {
    return absl::InvalidArgumentError(fmt::format("--tls-key {}: {}", files.key, ec.message()));
  }
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    return absl::InvalidArgumentError(fmt::format(
        "--tls-key {} does not match the certificate in --tls-cert {}", files.key, files.cert));
  }
  if (!files.client_ca.empty()) {
    if (context->load_verify_file(files.client_ca, ec); ec) {
      return absl::InvalidArgumentError(
          fmt::format("--tls-client-ca {}: {}", files.client_ca, ec.message()));
    }
    context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return context;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsServerContext>> TlsServerContext::Create(const TlsFiles& files) {
  if (files.key.empty()) return absl::InvalidArgumentError("--tls-cert needs --tls-key");
  std::unique_ptr<TlsServerContext> holder(new TlsServerContext(files));
  const std::string stamp = Stamp(files);
  absl::StatusOr<std::shared_ptr<ssl::context>> built = Build(files);
  if (!built.ok()) return built.status();
  core::MutexLock lock(holder->mutex_);
  holder->current_ = *std::move(built);
  holder->stamp_ = stamp;
  return holder;
}

std::shared_ptr<ssl::context> TlsServerContext::Current() const {
  core::MutexLock lock(mutex_);
  return current_;
}

bool TlsServerContext::ReloadIfChanged() {
  const std::string stamp = Stamp(files_);
  {
    core::MutexLock lock(mutex_);
    if (stamp == stamp_) return false;
  }
  absl::StatusOr<std::shared_ptr<ssl::context>> built = Build(files_);
  core::MutexLock lock(mutex_);
  if (!built.ok()) {
    // Tried again only when a file changes once more (a pair written in two
    // steps is complete after its second write).
    stamp_ = stamp;
    spdlog::warn(
        "TLS files changed but cannot be used yet; the previous certificate stays in "
        "force: {}",
        std::string(built.status().message()));
    return false;
  }
  current_ = *std::move(built);
  stamp_ = stamp;
  spdlog::info("TLS certificate reloaded from {}", files_.cert);
  return true;
}

}  // namespace strata::api
