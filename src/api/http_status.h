// Maps absl::Status codes to HTTP statuses the way Triton does, so clients
// of either server see the same status for the same failure.
#ifndef STRATA_API_HTTP_STATUS_H_
#define STRATA_API_HTTP_STATUS_H_

#include "absl/status/status.h"

namespace strata::api {

// INTERNAL→500, NOT_FOUND→404, UNAVAILABLE→503, UNIMPLEMENTED→501,
// RESOURCE_EXHAUSTED→429, DEADLINE_EXCEEDED→504, everything else→400.
int HttpStatusFromCode(absl::StatusCode code);

}  // namespace strata::api

#endif  // STRATA_API_HTTP_STATUS_H_
