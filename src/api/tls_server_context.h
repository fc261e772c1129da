// TlsServerContext holds the TLS configuration of the REST listeners, built
// from one certificate configuration (TlsFiles, the same files the gRPC
// frontend watches): a certificate chain, its private key and, for mutual
// TLS, the CA that client certificates must chain to (a client without a
// valid certificate is refused in the handshake). ReloadIfChanged() builds
// a new context when a file changes (mtime, size or inode); new handshakes
// use it, established connections keep theirs. A half-written pair (a key
// that does not match its certificate) is not taken: the previous context
// stays in force until the files agree. Thread-safe.
#ifndef STRATA_API_TLS_SERVER_CONTEXT_H_
#define STRATA_API_TLS_SERVER_CONTEXT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "boost/asio/ssl/context.hpp"
#include "core/mutex.h"

namespace strata::api {

struct TlsFiles {
  std::string cert;       // PEM certificate chain; empty: no TLS
  std::string key;        // PEM private key
  std::string client_ca;  // PEM CA bundle; set: client certificates are required

  bool enabled() const { return !cert.empty(); }
};

class TlsServerContext {
 public:
  // INVALID_ARGUMENT naming the file that cannot be used.
  static absl::StatusOr<std::unique_ptr<TlsServerContext>> Create(const TlsFiles& files);

  std::shared_ptr<boost::asio::ssl::context> Current() const;

  // True when a changed set of files was taken.
  bool ReloadIfChanged();

 private:
  explicit TlsServerContext(TlsFiles files) : files_(std::move(files)) {}

  const TlsFiles files_;
  mutable core::Mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> current_ ABSL_GUARDED_BY(mutex_);
  std::string stamp_ ABSL_GUARDED_BY(mutex_);  // of the files last tried
};

}  // namespace strata::api

#endif  // STRATA_API_TLS_SERVER_CONTEXT_H_
