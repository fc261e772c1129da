// What a REST route needs of an API key: its scope and the model or
// endpoint it touches, decided from the same path segments the router
// reads (SplitPath: percent-decoded, empty segments dropped). A path the
// router does not know needs the metadata scope on every model, so an
// unknown path never opens anything. Pure; thread-safe.
#ifndef STRATA_API_AUTH_ROUTE_ACCESS_H_
#define STRATA_API_AUTH_ROUTE_ACCESS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/auth/key_set.h"

namespace strata::api::auth {

struct RouteAccess {
  bool open = false;  // health probes: no key needed
  Scope scope = Scope::kMetadata;
  std::optional<std::string> model;  // "*": every model
};

// v2/models/{model}[/versions/{version}][/{action}], as both the router and
// RestRouteAccess read it. `valid` is false when segments follow the action.
struct ModelPath {
  std::string model;
  std::string version;
  std::string action;  // "", "infer", "ready", "config", "stats", ...
  bool valid = false;
};

// REQUIRES: segments.size() >= 3, segments[0] == "v2", segments[1] == "models".
ModelPath ParseModelPath(const std::vector<std::string>& segments);

RouteAccess RestRouteAccess(const std::vector<std::string>& segments);

}  // namespace strata::api::auth

#endif  // STRATA_API_AUTH_ROUTE_ACCESS_H_
