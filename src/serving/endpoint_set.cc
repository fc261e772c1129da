#include "serving/endpoint_set.h"

namespace strata::serving {
namespace {

std::map<std::string, std::shared_ptr<Endpoint>, std::less<>> ByName(
    std::vector<std::shared_ptr<Endpoint>> endpoints) {
  std::map<std::string, std::shared_ptr<Endpoint>, std::less<>> by_name;
  for (std::shared_ptr<Endpoint>& e : endpoints) {
    const std::string name = e->name();
    by_name.emplace(name, std::move(e));
  }
  return by_name;
}

}  // namespace

EndpointSet::EndpointSet(std::vector<std::shared_ptr<Endpoint>> endpoints)
    : endpoints_(ByName(std::move(endpoints))) {}

const Endpoint* EndpointSet::Find(std::string_view name) const {
  auto it = endpoints_.find(name);
  return it == endpoints_.end() ? nullptr : it->second.get();
}

std::vector<const Endpoint*> EndpointSet::List() const {
  std::vector<const Endpoint*> list;
  for (const auto& [name, endpoint] : endpoints_) list.push_back(endpoint.get());
  return list;
}

}  // namespace strata::serving
