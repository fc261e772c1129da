// JSON for strata's model-control endpoints (/v2/repository/...): the
// repository index in Triton's shape, and the small bodies of the load,
// unload, label and default-version calls. Pure functions; thread-safe.
#ifndef STRATA_API_CONTROL_JSON_H_
#define STRATA_API_CONTROL_JSON_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/reserved_parameters.h"
#include "serving/lifecycle/table_control.h"
#include "serving/lifecycle/version_status.h"

namespace strata::api {

// [{"name", "version", "state", "reason"}, ...]; with `ready_only`, READY only.
std::string EncodeIndex(const std::vector<serving::VersionStatus>& index, bool ready_only);

// The table index: [{"name", "version", "state", "reason", "labels": [...],
// "default": bool, "published": bool}, ...]; "version" is "" for a line about
// the table as a whole. With `ready_only`, READY only.
std::string EncodeTableIndex(const std::vector<serving::TableVersionStatus>& index,
                             bool ready_only);

// Reads {"ready": bool} from an index request body (empty body: false).
absl::StatusOr<bool> DecodeIndexRequest(std::string_view body);

// {"version": 3} or {"version": "3"}; "latest", null or 0 give 0.
absl::StatusOr<int64_t> DecodeVersionBody(std::string_view body);

struct LabelBody {
  std::string label;
  int64_t version = 0;  // 0 removes the label
};
// {"label": "canary", "version": 4}
absl::StatusOr<LabelBody> DecodeLabelBody(std::string_view body);

// Checks the body of a load or unload call: empty, or {"parameters":
// {...}} with parameters that CheckRepositoryParameter accepts (Triton's
// clients send {} to load and {"parameters": {"unload_dependents": false}}
// to unload). INVALID_ARGUMENT naming what is refused: a body that is not a
// JSON object, another key, a parameter strata does not honour.
absl::Status CheckRepositoryBody(RepositoryAction action, std::string_view body);

// Checks a model or table name taken from a control route (after percent
// decoding): INVALID_ARGUMENT for a name that could reach outside the
// repository: empty, starting with '.' (".", ".."), holding '/', '\\' or a
// control character. Checked before any control operation runs.
absl::Status CheckControlName(std::string_view name);

// {"message": ...}
std::string EncodeMessage(std::string_view message);

}  // namespace strata::api

#endif  // STRATA_API_CONTROL_JSON_H_
