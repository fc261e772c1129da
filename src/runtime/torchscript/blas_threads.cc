#include "runtime/torchscript/blas_threads.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

namespace strata::runtime {
namespace {

struct OpenBlas {
  void (*set_num_threads)(int) = nullptr;
  int (*get_num_threads)() = nullptr;
  char* (*get_config)() = nullptr;
};

// OpenBLAS's entry points in the process (loaded with LibTorch), if any.
const OpenBlas& FindOpenBlas() {
  static const OpenBlas found = [] {
    OpenBlas o;
    o.set_num_threads =
        reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    o.get_num_threads =
        reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    o.get_config = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
    return o;
  }();
  return found;
}

}  // namespace

int BlasThreadsFor(int intra_op_threads, int instances, int cores) {
  const int share = std::max(1, cores) / std::max(1, instances);
  return std::max(1, std::min(intra_op_threads, share));
}

BlasThreadsChoice ApplyBlasThreads(int threads) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  BlasThreadsChoice choice;
  const OpenBlas& openblas = FindOpenBlas();
  if (openblas.set_num_threads == nullptr || openblas.get_num_threads == nullptr) return choice;
  if (openblas.get_config != nullptr) choice.blas = openblas.get_config();
  choice.threads = openblas.get_num_threads();
  if (std::getenv("OPENBLAS_NUM_THREADS") != nullptr) {
    choice.source = BlasThreadsChoice::Source::kEnvironment;
    return choice;
  }
  choice.source = BlasThreadsChoice::Source::kSet;
  if (choice.threads > threads) {
    openblas.set_num_threads(std::max(1, threads));
    choice.threads = openblas.get_num_threads();
    choice.changed = true;
  }
  return choice;
}

}  // namespace strata::runtime
