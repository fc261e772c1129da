#include "serving/model_repository.h"

#include "serving/version_scanner.h"

namespace strata::serving {

std::vector<int64_t> ModelRepository::ListVersions(const std::filesystem::path& model_dir) {
  return ListVersionDirectories(model_dir);
}

}  // namespace strata::serving
