// A backend's failure can carry two texts: the status message, which
// clients see, and the library's own words (XGBoost's or LibTorch's error,
// which may quote absolute paths, source locations and file contents),
// carried as a payload of the status so that the server logs them in full
// and answers clients with the message alone. Pure functions; thread-safe.
#ifndef STRATA_RUNTIME_LIBRARY_ERROR_H_
#define STRATA_RUNTIME_LIBRARY_ERROR_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace strata::runtime {

// `status` with `detail` attached (nothing is attached to an OK status).
absl::Status WithLibraryDetail(absl::Status status, std::string_view detail);

// The detail attached to `status`, or empty.
std::string LibraryDetail(const absl::Status& status);

}  // namespace strata::runtime

#endif  // STRATA_RUNTIME_LIBRARY_ERROR_H_
