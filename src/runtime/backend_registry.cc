#include "runtime/backend_registry.h"

namespace strata::runtime {

void BackendRegistry::Register(Backend backend) {
  std::string name = backend.name;
  backends_.insert_or_assign(std::move(name), std::move(backend));
}

const Backend* BackendRegistry::Find(std::string_view name) const {
  auto it = backends_.find(name);
  return it == backends_.end() ? nullptr : &it->second;
}

std::vector<std::string> BackendRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, backend] : backends_) names.push_back(name);
  return names;
}

}  // namespace strata::runtime
