// What `RunChecks` checks (a model version on a KServe v2 server) and how.
// Value types.
#ifndef STRATA_CHECK_CHECK_TARGET_H_
#define STRATA_CHECK_CHECK_TARGET_H_

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace strata::check {

struct CheckTarget {
  std::string url;  // "http://127.0.0.1:8000"
  std::string model;
  std::string version;       // empty: the server's default version
  std::string bearer_token;  // empty: no Authorization header
};

struct CheckOptions {
  // Where the inputs come from: explicit files first, else the version
  // directory of a strata model repository (<repository>/models/<model>/
  // <version, else the highest>/samples.json, check/heldout.jsonl,
  // check/reference.json). Samples are required; without a held-out set or
  // a reference the statistical check is skipped.
  std::filesystem::path samples;
  std::filesystem::path heldout;
  std::filesystem::path reference;
  std::filesystem::path repository;
  // The server's access log (strata: `--access-log`, one JSON line per
  // request); empty: the end-to-end check reads /metrics only.
  std::filesystem::path access_log;

  std::optional<double> tolerance;  // else the samples file's, else 1e-5
  double psi_max = 0.2;
  size_t heldout_rows = 1000;  // the most held-out lines sent
  double rate = 200;           // load: requests per second, open loop
  std::chrono::milliseconds duration{5000};
  double p99_ms = 100;  // load: the objective
  int connections = 4;  // load: client connections
  std::chrono::milliseconds request_timeout{10000};
};

}  // namespace strata::check

#endif  // STRATA_CHECK_CHECK_TARGET_H_
