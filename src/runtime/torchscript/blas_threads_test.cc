#include "runtime/torchscript/blas_threads.h"

#include <cstdlib>

#include "gtest/gtest.h"

namespace strata::runtime {
namespace {

TEST(BlasThreadsTest, InstancesTimesThreadsFitTheCores) {
  EXPECT_EQ(BlasThreadsFor(/*intra_op_threads=*/1, /*instances=*/2, /*cores=*/2), 1);
  EXPECT_EQ(BlasThreadsFor(2, 1, 2), 2);
  EXPECT_EQ(BlasThreadsFor(4, 1, 2), 2);  // never more than the cores
  EXPECT_EQ(BlasThreadsFor(2, 2, 2), 1);  // two instances share two cores
  EXPECT_EQ(BlasThreadsFor(8, 2, 16), 8);
  EXPECT_EQ(BlasThreadsFor(2, 4, 2), 1);  // at least one
}

// The test links LibTorch, which loads libblas.so.3: OpenBLAS when the BLAS
// alternatives select it (scripts/install-deps.sh installs it).
TEST(BlasThreadsTest, LowersOpenBlasThreadsAndNeverRaisesThem) {
  unsetenv("OPENBLAS_NUM_THREADS");
  const BlasThreadsChoice first = ApplyBlasThreads(1);
  if (first.source == BlasThreadsChoice::Source::kNoOpenBlas) {
    GTEST_SKIP() << "the process's BLAS is not OpenBLAS";
  }
  EXPECT_EQ(first.source, BlasThreadsChoice::Source::kSet);
  EXPECT_EQ(first.threads, 1);
  EXPECT_NE(first.blas.find("OpenBLAS"), std::string::npos) << first.blas;
  const BlasThreadsChoice second = ApplyBlasThreads(2);
  EXPECT_EQ(second.threads, 1);
  EXPECT_FALSE(second.changed);
}

TEST(BlasThreadsTest, TheEnvironmentWins) {
  setenv("OPENBLAS_NUM_THREADS", "2", 1);
  const BlasThreadsChoice choice = ApplyBlasThreads(1);
  unsetenv("OPENBLAS_NUM_THREADS");
  if (choice.source == BlasThreadsChoice::Source::kNoOpenBlas) GTEST_SKIP();
  EXPECT_EQ(choice.source, BlasThreadsChoice::Source::kEnvironment);
  EXPECT_FALSE(choice.changed);
}

}  // namespace
}  // namespace strata::runtime
