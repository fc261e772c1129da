// The wire text of a version's state (the protocol's "state" fields): the
// one place a VersionState becomes text. A model unloaded through the
// control API reads UNAVAILABLE, as in Triton. Pure; thread-safe.
#ifndef STRATA_API_VERSION_STATE_TEXT_H_
#define STRATA_API_VERSION_STATE_TEXT_H_

#include <string_view>

#include "serving/version_state.h"

namespace strata::api {

constexpr std::string_view VersionStateText(serving::VersionState state) {
  switch (state) {
    case serving::VersionState::kReady:
      return "READY";
    case serving::VersionState::kUnavailable:
    case serving::VersionState::kUnloaded:
      return "UNAVAILABLE";
  }
  return "UNAVAILABLE";
}

// For endpoints, whose readiness is a flag.
constexpr std::string_view VersionStateText(bool ready) {
  return VersionStateText(ready ? serving::VersionState::kReady
                                : serving::VersionState::kUnavailable);
}

}  // namespace strata::api

#endif  // STRATA_API_VERSION_STATE_TEXT_H_
