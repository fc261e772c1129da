#include "api/auth/route_access.h"

namespace strata::api::auth {
namespace {

RouteAccess Needs(Scope scope, std::optional<std::string> model) {
  return {false, scope, std::move(model)};
}

RouteAccess RepositoryAccess(const std::vector<std::string>& segments) {
  // v2/repository/models/{m}/{action} names one model; the index, all.
  if (segments.size() == 5 && segments[2] == "models") return Needs(Scope::kControl, segments[3]);
  // v2/repository/endpoints/{e}/rollout/{action}: the endpoint's rollout.
  if (segments.size() >= 4 && segments[2] == "endpoints") {
    return Needs(Scope::kControl, segments[3]);
  }
  return Needs(Scope::kControl, "*");
}

}  // namespace

ModelPath ParseModelPath(const std::vector<std::string>& segments) {
  ModelPath path;
  path.model = segments[2];
  size_t next = 3;
  if (segments.size() >= 5 && segments[3] == "versions") {
    path.version = segments[4];
    next = 5;
  }
  if (next < segments.size()) path.action = segments[next];
  path.valid = next + (path.action.empty() ? 0 : 1) == segments.size();
  return path;
}

RouteAccess RestRouteAccess(const std::vector<std::string>& segments) {
  if (segments.empty()) return Needs(Scope::kMetrics, std::nullopt);  // the status page
  if (segments.size() == 1 && segments[0] == "metrics") return Needs(Scope::kMetrics, std::nullopt);
  if (segments[0] != "v2") return Needs(Scope::kMetadata, "*");
  if (segments.size() == 1) return Needs(Scope::kMetadata, std::nullopt);
  if (segments.size() == 3 && segments[1] == "health" &&
      (segments[2] == "live" || segments[2] == "ready")) {
    return {true, Scope::kMetadata, std::nullopt};
  }
  if (segments[1] == "repository") return RepositoryAccess(segments);
  if (segments[1] == "advisor") {
    return Needs(Scope::kMetadata, segments.size() >= 3 ? segments[2] : "*");
  }
  if (segments[1] == "models" && segments.size() == 3 && segments[2] == "stats") {
    return Needs(Scope::kMetadata, "*");
  }
  if (segments[1] == "models" && segments.size() >= 3) {
    const ModelPath path = ParseModelPath(segments);
    // Feedback is sent by the callers that infer: the same scope.
    const bool infers = path.action == "infer" || path.action == "feedback";
    return Needs(path.valid && infers ? Scope::kInfer : Scope::kMetadata, path.model);
  }
  return Needs(Scope::kMetadata, "*");
}

}  // namespace strata::api::auth
