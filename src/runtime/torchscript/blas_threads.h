// The thread count of the BLAS under LibTorch's matrix products. Debian's
// LibTorch calls libblas.so.3, which the BLAS alternatives resolve to
// OpenBLAS when libopenblas0-pthread is installed; OpenBLAS then starts one
// thread per core for every product, on top of LibTorch's intra-op threads
// and strata's `instances`, and the cores are oversubscribed. strata caps
// OpenBLAS at the share of the cores one instance of a model may use.
// Thread-safe.
#ifndef STRATA_RUNTIME_TORCHSCRIPT_BLAS_THREADS_H_
#define STRATA_RUNTIME_TORCHSCRIPT_BLAS_THREADS_H_

#include <string>

namespace strata::runtime {

// The BLAS threads one batch of a model may use: its intra-op `threads`,
// but no more than its share of the cores, so that instances × threads <=
// cores. At least 1. Pure.
int BlasThreadsFor(int intra_op_threads, int instances, int cores);

// What ApplyBlasThreads did.
struct BlasThreadsChoice {
  enum class Source {
    kNoOpenBlas,   // the process's BLAS is not OpenBLAS: nothing to set
    kEnvironment,  // OPENBLAS_NUM_THREADS is set: the operator's choice stands
    kSet,          // strata set OpenBLAS's thread count
  };
  Source source = Source::kNoOpenBlas;
  int threads = 0;       // OpenBLAS's thread count afterwards (0: no OpenBLAS)
  bool changed = false;  // this call lowered it
  std::string blas;      // openblas_get_config(), e.g. "OpenBLAS 0.3.21 ... MAX_THREADS=64"
};

// Lowers OpenBLAS's process-wide thread count to `threads` when it is
// higher (never raises it: with several models the smallest share wins).
// Finds OpenBLAS through dlsym, so it works whichever BLAS is installed.
BlasThreadsChoice ApplyBlasThreads(int threads);

}  // namespace strata::runtime

#endif  // STRATA_RUNTIME_TORCHSCRIPT_BLAS_THREADS_H_
