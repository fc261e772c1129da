#include "runtime/library_error.h"

#include "absl/strings/cord.h"

namespace strata::runtime {
namespace {

constexpr char kDetailUrl[] = "type.strata.dev/library-detail";

}  // namespace

absl::Status WithLibraryDetail(absl::Status status, std::string_view detail) {
  if (!status.ok()) status.SetPayload(kDetailUrl, absl::Cord(std::string(detail)));
  return status;
}

std::string LibraryDetail(const absl::Status& status) {
  const auto detail = status.GetPayload(kDetailUrl);  // absl::optional<absl::Cord>
  return detail ? std::string(*detail) : std::string();
}

}  // namespace strata::runtime
