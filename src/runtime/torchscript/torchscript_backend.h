// The TorchScript backend loads a version's `model.pt` (torch.jit.save) with
// LibTorch on the CPU, in eval mode, and runs forward() under InferenceMode.
//
// config.yaml contract: forward() takes one Tensor argument per declared
// input, in the declared order (names need not match), and returns a single
// Tensor, a tuple or list of Tensors (mapped to the declared outputs by
// position), or a Dict[str, Tensor] (mapped by declared output name). Every
// dtype but BYTES, UINT16, UINT32 and UINT64 is supported.
// Parameters:
//   artifact   file name inside the version directory (default model.pt)
//   threads    LibTorch intra-op threads, >= 1 (default 1). LibTorch keeps
//              this setting process-global (at::set_num_threads), so models
//              with different values override each other; each load and
//              each Run() re-applies the model's value only when it differs
//              from the calling thread's current one (with Debian's OpenMP
//              build the effective count is cached per calling thread).
//   engine     dense | libtorch. Absent: a model the dense engine expresses
//              (dense_graph_reader.h) and whose answers agree with LibTorch's
//              on probe inputs runs on it; any other runs on LibTorch, with
//              the reason logged. `dense` refuses to load what the engine
//              cannot run; `libtorch` never tries it.
//
// The factory is thread-safe; the models it returns are safe for concurrent
// Run() calls. No exception leaves the backend: LibTorch errors become
// absl::Status.
#ifndef STRATA_RUNTIME_TORCHSCRIPT_TORCHSCRIPT_BACKEND_H_
#define STRATA_RUNTIME_TORCHSCRIPT_TORCHSCRIPT_BACKEND_H_

#include "runtime/backend_registry.h"

namespace strata::runtime {

// name "torchscript", platform "pytorch_torchscript".
Backend TorchScriptBackend();

}  // namespace strata::runtime

#endif  // STRATA_RUNTIME_TORCHSCRIPT_TORCHSCRIPT_BACKEND_H_
