#include "cli/builtin_backends.h"

#include "runtime/torchscript/torchscript_backend.h"
#include "runtime/xgboost/xgboost_backend.h"

namespace strata::cli {

runtime::BackendRegistry BuiltinBackends() {
  runtime::BackendRegistry registry;
  registry.Register(runtime::TorchScriptBackend());
  registry.Register(runtime::XGBoostBackend());
  return registry;
}

}  // namespace strata::cli
