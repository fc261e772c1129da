#include "api/auth/authorizer.h"

#include "api/auth/bearer_token.h"
#include "fmt/format.h"

namespace strata::api::auth {

int AuthDecision::http_status() const {
  switch (outcome) {
    case AuthOutcome::kAllowed:
      return 200;
    case AuthOutcome::kMissingScope:
    case AuthOutcome::kModelDenied:
      return 403;
    default:
      return 401;
  }
}

std::string_view AuthDecision::reason() const {
  constexpr std::string_view kReasons[] = {"none",    "missing", "malformed", "unknown_key",
                                           "expired", "scope",   "model"};
  return kReasons[static_cast<int>(outcome)];
}

AuthDecision Authorize(const KeyLookup& keys, std::string_view authorization, Scope scope,
                       std::optional<std::string_view> model,
                       std::chrono::system_clock::time_point now) {
  const ParsedAuthorization parsed = ParseAuthorization(authorization);
  if (parsed.kind == ParsedAuthorization::Kind::kMissing) {
    return {AuthOutcome::kMissing, "", "",
            "this route needs an API key: Authorization: Bearer <key>"};
  }
  if (parsed.kind == ParsedAuthorization::Kind::kMalformed) {
    return {AuthOutcome::kMalformed, "", "", "the Authorization header must be `Bearer <key>`"};
  }
  const ApiKey* found = keys.Find(parsed.token);
  if (found == nullptr) return {AuthOutcome::kUnknownKey, "", "", "the API key is not valid"};
  AuthDecision decision{AuthOutcome::kAllowed, found->id, found->tenant, ""};
  if (found->expires && *found->expires <= now) {
    decision.outcome = AuthOutcome::kExpired;
    decision.message = fmt::format("the API key '{}' has expired", found->id);
  } else if (!found->HasScope(scope)) {
    decision.outcome = AuthOutcome::kMissingScope;
    decision.message =
        fmt::format("the API key '{}' lacks the scope '{}'", found->id, ScopeName(scope));
  } else if (model && !found->AllowsModel(*model)) {
    decision.outcome = AuthOutcome::kModelDenied;
    decision.message =
        *model == "*"
            ? fmt::format("the API key '{}' may not use routes about every model", found->id)
            : fmt::format("the API key '{}' may not use '{}'", found->id, *model);
  }
  return decision;
}

}  // namespace strata::api::auth
