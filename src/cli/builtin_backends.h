// Registers the backends compiled into this binary. The composition root is
// the only place that names concrete backends.
#ifndef STRATA_CLI_BUILTIN_BACKENDS_H_
#define STRATA_CLI_BUILTIN_BACKENDS_H_

#include "runtime/backend_registry.h"

namespace strata::cli {

runtime::BackendRegistry BuiltinBackends();

}  // namespace strata::cli

#endif  // STRATA_CLI_BUILTIN_BACKENDS_H_
