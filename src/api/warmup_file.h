// Reads a warm-up samples file into inference requests, for the serving
// core's warm-up. Accepted forms: a KServe v2 request body; an object with
// such a body under "request" (the samples.json the example trainers write);
// or JSON Lines, one request body per line. Thread-safe.
#ifndef STRATA_API_WARMUP_FILE_H_
#define STRATA_API_WARMUP_FILE_H_

#include <filesystem>
#include <vector>

#include "absl/status/statusor.h"
#include "core/infer_request.h"

namespace strata::api {

absl::StatusOr<std::vector<core::InferRequest>> ReadWarmupFile(const std::filesystem::path& file);

}  // namespace strata::api

#endif  // STRATA_API_WARMUP_FILE_H_
