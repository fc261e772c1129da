#include "serving/lifecycle/model_versions.h"

#include <algorithm>

namespace strata::serving {

std::map<std::string, int64_t, std::less<>> ModelVersions::Labels() const {
  std::map<std::string, int64_t, std::less<>> labels;
  if (config) labels = config->lifecycle.labels;
  for (const auto& [label, version] : label_overrides) {
    if (version == 0) {
      labels.erase(label);
    } else {
      labels[label] = version;
    }
  }
  return labels;
}

int64_t ModelVersions::PinnedVersion() const {
  if (pinned >= 0) return pinned;
  return config ? config->lifecycle.default_version : 0;
}

bool ModelVersions::IsComplete(int64_t version) const {
  return std::binary_search(complete.begin(), complete.end(), version);
}

std::vector<int64_t> ModelVersions::Candidates(bool force_retry) const {
  std::vector<int64_t> candidates;
  for (int64_t v : complete) {
    auto f = failed.find(v);
    const bool failed_before = f != failed.end() && f->second.fingerprint == scanner.Fingerprint(v);
    if (!failed_before || force_retry) candidates.push_back(v);
  }
  return candidates;
}

std::set<int64_t> ModelVersions::ToReload(bool config_changed) const {
  std::set<int64_t> reload;
  for (const auto& [v, version] : loaded) {
    if (config_changed || (kept.contains(v) && IsComplete(v))) reload.insert(v);
  }
  return reload;
}

int64_t ModelVersions::ChooseDefault() const {
  const int64_t pin = PinnedVersion();
  if (pin > 0 && loaded.contains(pin)) return pin;
  return loaded.empty() ? 0 : loaded.rbegin()->first;
}

}  // namespace strata::serving
