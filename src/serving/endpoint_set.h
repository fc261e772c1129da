// EndpointSet holds the server's endpoints by name, fixed at construction.
// The tables they read are followed by the TableRegistry
// (serving/lifecycle/table_registry.h), which picks up new versions.
// Find() is thread-safe and never blocks.
#ifndef STRATA_SERVING_ENDPOINT_SET_H_
#define STRATA_SERVING_ENDPOINT_SET_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "serving/endpoint.h"

namespace strata::serving {

class EndpointSet {
 public:
  explicit EndpointSet(std::vector<std::shared_ptr<Endpoint>> endpoints);

  EndpointSet(const EndpointSet&) = delete;
  EndpointSet& operator=(const EndpointSet&) = delete;

  // The endpoint called `name`, or null.
  const Endpoint* Find(std::string_view name) const;
  std::vector<const Endpoint*> List() const;
  bool empty() const { return endpoints_.empty(); }

 private:
  const std::map<std::string, std::shared_ptr<Endpoint>, std::less<>> endpoints_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_ENDPOINT_SET_H_
