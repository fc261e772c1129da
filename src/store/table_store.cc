#include "store/table_store.h"

#include "fmt/format.h"

namespace strata::store {

absl::Status ValidateTableName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 128 && name[0] != '.';
  for (char c : name) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        fmt::format("table name '{}' is not valid: use letters, digits, '_', '-' and '.'", name));
  }
  return absl::OkStatus();
}

}  // namespace strata::store
