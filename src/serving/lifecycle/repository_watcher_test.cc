#include "serving/lifecycle/repository_watcher.h"

#include <fstream>

#include "gtest/gtest.h"

namespace strata::serving {
namespace {
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using Clock = RepositoryWatcher::Clock;

TEST(RepositoryWatcherTest, ScansAreDueOneIntervalApart) {
  RepositoryWatcher watcher("/nonexistent", milliseconds(100));
  const Clock::time_point t0 = Clock::time_point() + std::chrono::hours(1);
  EXPECT_TRUE(watcher.Due(t0)) << "never scanned";
  watcher.Scanned(t0);
  EXPECT_FALSE(watcher.Due(t0 + milliseconds(99)));
  EXPECT_TRUE(watcher.Due(t0 + milliseconds(100)));
  EXPECT_EQ(watcher.NextScan(), t0 + milliseconds(100));
}

TEST(RepositoryWatcherTest, ZeroIntervalNeverPolls) {
  RepositoryWatcher watcher("/nonexistent", milliseconds(0));
  EXPECT_FALSE(watcher.Due(Clock::time_point::max()));
  EXPECT_FALSE(watcher.NextScan().has_value());
}

TEST(RepositoryWatcherTest, ListsModelDirectoriesButNotHiddenOnes) {
  const fs::path root = fs::path(::testing::TempDir()) / "repository_watcher_test";
  fs::remove_all(root);
  fs::create_directories(root / "models/a");
  fs::create_directories(root / "models/.staging");
  std::ofstream(root / "models/README") << "not a model";
  RepositoryWatcher watcher(root, milliseconds(100));
  auto names = watcher.ListModels();
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_EQ(*names, (std::set<std::string>{"a"}));
  EXPECT_EQ(RepositoryWatcher("/nonexistent", milliseconds(1)).ListModels().status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace strata::serving
