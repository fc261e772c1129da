// The state of a model version as the server reports it: a contract between
// the lifecycle and the frontends. Only the api codecs turn it into text
// (READY, UNAVAILABLE), at the wire.
#ifndef STRATA_SERVING_VERSION_STATE_H_
#define STRATA_SERVING_VERSION_STATE_H_

namespace strata::serving {

enum class VersionState {
  kReady,        // loaded and warmed up: takes traffic
  kUnavailable,  // not loaded: failed, not selected, or no version at all
  kUnloaded,     // taken out of service on purpose through the control API
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_VERSION_STATE_H_
