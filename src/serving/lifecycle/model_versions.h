// ModelVersions is what the lifecycle knows of one model's versions: its
// config, the complete versions on disk, the loaded ones, the failed ones
// and why, labels, the pinned default and the default's history. Plain data
// with the decisions that read only it. Not thread-safe: the lifecycle's
// executor owns it.
#ifndef STRATA_SERVING_LIFECYCLE_MODEL_VERSIONS_H_
#define STRATA_SERVING_LIFECYCLE_MODEL_VERSIONS_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "runtime/model_config.h"
#include "serving/lifecycle/drain_list.h"
#include "serving/version_scanner.h"

namespace strata::serving {

struct ModelVersions {
  // A version that failed: the fingerprint of its directory then, and why.
  struct Failure {
    std::string fingerprint;
    std::string reason;
  };

  std::string name;
  std::filesystem::path dir;
  std::string config_text;
  std::shared_ptr<const runtime::ModelConfig> config;
  std::string config_error;
  std::string platform;
  VersionScanner scanner;
  std::vector<int64_t> complete;  // ascending
  std::map<int64_t, LoadedVersion> loaded;
  std::map<int64_t, std::weak_ptr<ModelMetrics>> metrics;  // reused on reload
  std::map<int64_t, Failure> failed;
  std::map<std::string, int64_t, std::less<>> label_overrides;  // 0 removes
  // Loaded versions no longer aspired that keep serving as the last known
  // good while nothing aspired is ready, and why they left (for the status).
  std::map<int64_t, std::string> kept;
  int64_t pinned = -1;  // -1: config's default_version; 0: newest; >0: pinned
  int64_t current_default = 0;
  std::vector<int64_t> default_history;
  bool unloaded = false;  // taken out of service through the control API
  std::string transient_reason;

  // The config's labels with the control API's changes.
  std::map<std::string, int64_t, std::less<>> Labels() const;
  // The pinned default (0: the newest ready).
  int64_t PinnedVersion() const;
  bool IsComplete(int64_t version) const;
  // Complete versions the policy may choose from. Versions that failed
  // before are not candidates until their directory changes (or a control
  // call retries them), so the policy falls back to the newest version that
  // can serve.
  std::vector<int64_t> Candidates(bool force_retry) const;
  // Loaded versions to load again: all after a config change, and a kept
  // version whose directory is complete again (its files may differ).
  std::set<int64_t> ToReload(bool config_changed) const;
  // The version the default should be: the pinned one when loaded, else
  // the newest loaded (0: none).
  int64_t ChooseDefault() const;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_LIFECYCLE_MODEL_VERSIONS_H_
