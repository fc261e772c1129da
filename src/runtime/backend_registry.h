// BackendRegistry maps a backend name ("torchscript") to the factory that
// loads a model version of that format. The composition root (cli) registers
// the concrete backends; the serving core only looks them up, so it compiles
// without any framework. Register() before serving starts; Find() is then
// safe from any thread.
#ifndef STRATA_RUNTIME_BACKEND_REGISTRY_H_
#define STRATA_RUNTIME_BACKEND_REGISTRY_H_

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/model.h"
#include "runtime/model_config.h"

namespace strata::runtime {

// Loads the version in `version_dir` and checks it against `config`'s
// declared signature, saying clearly what does not match.
using ModelFactory = std::function<absl::StatusOr<std::unique_ptr<Model>>(
    const ModelConfig& config, const std::filesystem::path& version_dir)>;

struct Backend {
  std::string name;      // as written in config.yaml, e.g. "xgboost"
  std::string platform;  // as reported in model metadata, e.g. "xgboost_json"
  ModelFactory factory;
};

class BackendRegistry {
 public:
  void Register(Backend backend);

  // nullptr when no backend of that name is registered.
  const Backend* Find(std::string_view name) const;

  std::vector<std::string> Names() const;

 private:
  std::map<std::string, Backend, std::less<>> backends_;
};

}  // namespace strata::runtime

#endif  // STRATA_RUNTIME_BACKEND_REGISTRY_H_
