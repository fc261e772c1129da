// The table lifecycle driven with fakes: an in-memory table store, an
// executor that runs on the test's thread and ticks when told, and time
// that moves only when told. Nothing sleeps.
#include "serving/lifecycle/table_registry.h"

#include <optional>

#include "gtest/gtest.h"
#include "serving/testing/fake_lifecycle.h"
#include "store/memory_table_store.h"

namespace strata::serving {
namespace {

using std::chrono::milliseconds;

// Commits a version of `table` (10 rows, one FP32 output) keyed by `key`
// and, when `publish`, points the table at it.
int64_t Commit(store::TableStore& s, const std::string& table, bool publish = true,
               const std::string& key = "id:INT64") {
  auto builder = *s.NewBuilder(table, "");
  for (int64_t id = 0; id < 10; ++id) {
    std::string k;
    store::KeySchema::AppendInt(id, k);
    EXPECT_TRUE(builder->Add(k, std::string(4, '\0')).ok());
  }
  store::TableManifest m;
  m.table = table;
  m.model_name = "m";
  m.model_version = 1;
  m.key = *store::KeySchema::Parse(key);
  m.outputs = {{"y", core::DataType::kFp32, {}}};
  m.rows = 10;
  const int64_t v = *builder->Commit(m);
  if (publish) {
    EXPECT_TRUE(s.SetCurrentVersion(table, v).ok());
  }
  return v;
}

int64_t VersionOf(const std::shared_ptr<const store::PredictionTable>& t) {
  return t ? t->manifest().version : 0;
}

class TableRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto executor = std::make_unique<testing::InlineExecutor>();
    executor_ = executor.get();
    registry_ =
        std::make_unique<TableRegistry>(TableRegistryOptions{.default_store = store_,
                                                             .poll_interval = milliseconds(100),
                                                             .drain_timeout = milliseconds(1000),
                                                             .executor = std::move(executor),
                                                             .time = &time_});
  }

  // One poll interval later, the registry's periodic work.
  void Poll() {
    time_.Advance(milliseconds(100));
    executor_->RunTick();
  }

  // Runs a control operation (inline) and returns its result.
  template <typename Call>
  absl::StatusOr<std::string> Control(Call call) {
    std::optional<absl::StatusOr<std::string>> result;
    call([&](absl::StatusOr<std::string> r) { result = std::move(r); });
    EXPECT_TRUE(result.has_value());
    return result.value_or(absl::InternalError("no answer"));
  }

  std::shared_ptr<store::MemoryTableStore> store_ = std::make_shared<store::MemoryTableStore>();
  testing::FakeTimeSource time_;
  testing::InlineExecutor* executor_ = nullptr;
  std::unique_ptr<TableRegistry> registry_;
};

TEST_F(TableRegistryTest, PublishSwapsAtomicallyAndTheOldVersionDrainsWhenItsLookupsFinish) {
  Commit(*store_, "t");
  ASSERT_TRUE(registry_->Follow("t").ok());
  std::shared_ptr<const store::PredictionTable> in_flight = registry_->Current("t");
  ASSERT_EQ(VersionOf(in_flight), 1);

  Commit(*store_, "t");
  Poll();
  EXPECT_EQ(VersionOf(registry_->Current("t")), 2);
  // The lookup that started on version 1 still reads it: not closed.
  std::weak_ptr<const store::PredictionTable> old = in_flight;
  EXPECT_EQ(VersionOf(in_flight), 1);
  Poll();
  EXPECT_FALSE(old.expired());
  in_flight.reset();  // the lookup finishes
  Poll();
  EXPECT_TRUE(old.expired()) << "version 1 must close once nothing reads it";
  EXPECT_EQ(time_.slept(), std::chrono::steady_clock::duration(0));
}

TEST_F(TableRegistryTest, AFailedOpenIsKeptWithItsReasonAndThePreviousKeepsServing) {
  Commit(*store_, "t");
  ASSERT_TRUE(registry_->Follow("t", {.key = {"id"}}).ok());
  Commit(*store_, "t", true, "user:INT64");  // version 2: the wrong key
  EXPECT_FALSE(registry_->Refresh("t").ok());
  EXPECT_EQ(VersionOf(registry_->Current("t")), 1);
  std::shared_ptr<const TableSnapshot> snapshot = registry_->Snapshot("t");
  EXPECT_NE(snapshot->refused.find("version 2 refused"), std::string::npos) << snapshot->refused;
  bool seen = false;
  for (const TableVersionStatus& s : registry_->Index()) {
    if (s.version != 2) continue;
    seen = true;
    EXPECT_EQ(s.state, VersionState::kUnavailable);
    EXPECT_TRUE(s.published);
    EXPECT_NE(s.reason.find("its key is"), std::string::npos) << s.reason;
  }
  EXPECT_TRUE(seen);
  // A refused version is not tried again on every poll.
  EXPECT_TRUE(registry_->Refresh("t").ok());
  EXPECT_EQ(VersionOf(registry_->Current("t")), 1);
}

TEST_F(TableRegistryTest, LabelsNameVersionsAndKeepThemOpen) {
  Commit(*store_, "t");
  ASSERT_TRUE(registry_->Follow("t").ok());
  Commit(*store_, "t");
  Poll();
  ASSERT_TRUE(Control([&](auto done) { registry_->SetLabel("t", "stable", 1, done); }).ok());
  ASSERT_TRUE(Control([&](auto done) { registry_->SetLabel("t", "canary", 2, done); }).ok());
  EXPECT_EQ(VersionOf(*registry_->Find("t", "stable")), 1);
  EXPECT_EQ(VersionOf(*registry_->Find("t", "canary")), 2);
  EXPECT_EQ(VersionOf(*registry_->Find("t", "")), 2);
  EXPECT_EQ(registry_->Find("t", "beta").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Control([&](auto done) { registry_->SetLabel("t", "x", 9, done); }).status().code(),
            absl::StatusCode::kNotFound);

  std::weak_ptr<const store::PredictionTable> one = *registry_->Find("t", "1");
  ASSERT_TRUE(Control([&](auto done) { registry_->SetLabel("t", "stable", 0, done); }).ok());
  Poll();
  EXPECT_TRUE(one.expired()) << "version 1 is no longer aspired once its label goes";
  EXPECT_EQ(registry_->Find("t", "stable").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(TableRegistryTest, APinnedDefaultHoldsAcrossPublishesAndRollbackGoesBack) {
  Commit(*store_, "t");
  ASSERT_TRUE(registry_->Follow("t").ok());
  Commit(*store_, "t");
  Poll();
  ASSERT_EQ(VersionOf(registry_->Current("t")), 2);

  absl::StatusOr<std::string> rolled = Control([&](auto done) { registry_->Rollback("t", done); });
  ASSERT_TRUE(rolled.ok()) << rolled.status();
  EXPECT_EQ(VersionOf(registry_->Current("t")), 1);
  Commit(*store_, "t");  // version 3 published: the pin holds
  Poll();
  EXPECT_EQ(VersionOf(registry_->Current("t")), 1);

  ASSERT_TRUE(Control([&](auto done) { registry_->SetDefault("t", 2, done); }).ok());
  EXPECT_EQ(VersionOf(registry_->Current("t")), 2);
  ASSERT_TRUE(Control([&](auto done) { registry_->SetDefault("t", 0, done); }).ok());
  EXPECT_EQ(VersionOf(registry_->Current("t")), 3);
  EXPECT_EQ(Control([&](auto done) { registry_->SetDefault("t", 7, done); }).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(VersionOf(registry_->Current("t")), 3);
}

TEST_F(TableRegistryTest, RollbackWithoutAPreviousVersionIsRefused) {
  Commit(*store_, "t");
  ASSERT_TRUE(registry_->Follow("t").ok());
  EXPECT_EQ(Control([&](auto done) { registry_->Rollback("t", done); }).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Control([&](auto done) { registry_->Rollback("nope", done); }).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(TableRegistryTest, UnloadWaitsForInFlightLookupsOnTheFakeClockThenLoadReopens) {
  Commit(*store_, "t");
  ASSERT_TRUE(registry_->Follow("t").ok());
  std::shared_ptr<const store::PredictionTable> in_flight = registry_->Current("t");
  std::weak_ptr<const store::PredictionTable> watched = in_flight;
  time_.OnSleep([&](auto) {
    if (time_.slept() >= milliseconds(10)) in_flight.reset();  // the lookup finishes
  });
  ASSERT_TRUE(Control([&](auto done) { registry_->Unload("t", done); }).ok());
  EXPECT_TRUE(watched.expired());
  EXPECT_GE(time_.slept(), milliseconds(10));
  EXPECT_LT(time_.slept(), milliseconds(1000));
  EXPECT_EQ(registry_->Current("t"), nullptr);
  ASSERT_EQ(registry_->Index().size(), 1u);
  EXPECT_EQ(registry_->Index()[0].state, VersionState::kUnloaded);
  Poll();  // an unloaded table is not polled
  EXPECT_EQ(registry_->Current("t"), nullptr);

  ASSERT_TRUE(Control([&](auto done) { registry_->Load("t", done); }).ok());
  EXPECT_EQ(VersionOf(registry_->Current("t")), 1);
}

TEST_F(TableRegistryTest, ATableNoEndpointNamesIsFollowedOnItsFirstUse) {
  Commit(*store_, "features");
  EXPECT_EQ(registry_->Snapshot("features"), nullptr);
  registry_->Current("features");  // follows it; opens in the background
  ASSERT_NE(registry_->Snapshot("features"), nullptr);
  EXPECT_EQ(VersionOf(registry_->Current("features")), 1);
  EXPECT_FALSE(registry_->Follow("bad/name").ok());
}

TEST_F(TableRegistryTest, ATableWithoutAVersionIsNotReadyWithTheReasonThenOpens) {
  ASSERT_TRUE(registry_->Follow("later").ok());
  EXPECT_EQ(registry_->Current("later"), nullptr);
  EXPECT_EQ(registry_->Find("later", "").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(registry_->Snapshot("later")->reason.find("has no version"), std::string::npos);
  Commit(*store_, "later");
  Poll();
  EXPECT_EQ(VersionOf(registry_->Current("later")), 1);
}

}  // namespace
}  // namespace strata::serving
