#include "serving/guarded_table_store.h"

#include <future>
#include <thread>

#include "gtest/gtest.h"
#include "serving/testing/hanging_table_store.h"

namespace strata::serving {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using testing::HangingTableStore;

std::string Key(int64_t id) {
  std::string key;
  store::KeySchema::AppendInt(id, key);
  return key;
}

int64_t Publish(store::TableStore& s) {
  auto builder = *s.NewBuilder("t", "");
  for (int64_t id = 0; id < 4; ++id) EXPECT_TRUE(builder->Add(Key(id), "vvvv").ok());
  store::TableManifest m;
  m.table = "t";
  m.model_name = "m";
  m.model_version = 1;
  m.key = *store::KeySchema::Parse("id:INT64");
  m.outputs = {{"y", core::DataType::kFp32, {}}};
  m.rows = 4;
  const int64_t v = *builder->Commit(m);
  EXPECT_TRUE(s.SetCurrentVersion("t", v).ok());
  return v;
}

GuardedTableStoreOptions Options(std::chrono::steady_clock::duration hang_after,
                                 std::chrono::steady_clock::duration open_for, int threads = 2,
                                 size_t max_queue = 8) {
  return {.name = "test",
          .breaker = {.max_failures = 3, .hang_after = hang_after, .open_for = open_for},
          .executor = {.threads = threads, .max_queue = max_queue}};
}

// The value of the series of `family` whose label `name` is `value`.
double Series(const GuardedTableStore& store, const std::string& family, const std::string& name,
              const std::string& value) {
  for (const prometheus::MetricFamily& f : store.CollectMetrics()) {
    if (f.name != family) continue;
    for (const prometheus::ClientMetric& m : f.metric) {
      for (const prometheus::ClientMetric::Label& l : m.label) {
        if (l.name == name && l.value == value) {
          return f.type == prometheus::MetricType::Gauge ? m.gauge.value : m.counter.value;
        }
      }
    }
  }
  return -1;
}

using Result = absl::StatusOr<store::LookupResult>;

class GuardedTableStoreTest : public ::testing::Test {
 protected:
  void Guard(GuardedTableStoreOptions options) {
    inner_ = std::make_shared<HangingTableStore>();
    const int64_t version = Publish(*inner_);
    guarded_ = std::make_unique<GuardedTableStore>(inner_, std::move(options));
    auto table = guarded_->Open("t", version);
    ASSERT_TRUE(table.ok()) << table.status();
    table_ = *std::move(table);
  }

  std::shared_ptr<HangingTableStore> inner_;
  std::unique_ptr<GuardedTableStore> guarded_;
  std::shared_ptr<store::PredictionTable> table_;
  std::vector<std::string> keys_ = {Key(1), Key(9)};
};

TEST_F(GuardedTableStoreTest, AHungLookupNeverHoldsTheCallerAndOpensTheBreaker) {
  Guard(Options(microseconds(1), hours(1)));
  inner_->Set(HangingTableStore::Mode::kHanging);
  std::promise<Result> first;
  table_->MultiGetAsync(keys_, [&](Result r) { first.set_value(std::move(r)); });
  inner_->AwaitHanging(1);  // MultiGetAsync returned while the store hangs
  EXPECT_EQ(guarded_->breaker_state(), BreakerState::kClosed);
  inner_->Release();
  EXPECT_EQ(first.get_future().get().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(guarded_->breaker_state(), BreakerState::kOpen);

  // Open: every call fails fast, on the caller's thread, without the store.
  const int calls = inner_->calls();
  std::thread::id answered_on;
  table_->MultiGetAsync(keys_, [&](Result r) {
    answered_on = std::this_thread::get_id();
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_NE(r.status().message().find("circuit breaker open"), std::string_view::npos)
        << r.status();
  });
  EXPECT_EQ(answered_on, std::this_thread::get_id());
  EXPECT_EQ(table_->MultiGet(keys_).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(guarded_->CurrentVersion("t").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(inner_->calls(), calls);
  EXPECT_EQ(Series(*guarded_, "strata_store_calls_total", "result", "failed"), 1);
  EXPECT_EQ(Series(*guarded_, "strata_store_calls_total", "result", "rejected"), 3);
  EXPECT_EQ(Series(*guarded_, "strata_store_breaker_state", "state", "open"), 1);
  EXPECT_EQ(Series(*guarded_, "strata_store_breaker_state", "state", "closed"), 0);
  EXPECT_EQ(Series(*guarded_, "strata_store_breaker_transitions_total", "to", "open"), 1);
}

// Waits (a generous 10 s for what takes microseconds) until the breaker is
// `state`; false if it never gets there.
bool AwaitState(const GuardedTableStore& store, BreakerState state) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (store.breaker_state() != state) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST_F(GuardedTableStoreTest, ConsecutiveFastFailuresOpenItAndABackgroundProbeClosesIt) {
  Guard(Options(hours(1),
                std::chrono::nanoseconds(0)));  // a probe is due at once
  inner_->Set(HangingTableStore::Mode::kRefusing);
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(table_->MultiGet(keys_).ok());
  EXPECT_EQ(guarded_->breaker_state(), BreakerState::kClosed);
  EXPECT_FALSE(guarded_->CurrentVersion("t").ok());  // refresh calls count too
  EXPECT_EQ(guarded_->breaker_state(), BreakerState::kOpen);
  EXPECT_FALSE(guarded_->CurrentVersion("t").ok());  // a refresh call may probe: refused
  EXPECT_EQ(guarded_->breaker_state(), BreakerState::kOpen);
  EXPECT_EQ(inner_->calls(), 4);

  // Store back. A request never probes: it is answered at once, and the
  // probe (ListTables) runs in the background.
  inner_->Set(HangingTableStore::Mode::kAnswering);
  bool refused = false;
  table_->MultiGetAsync(keys_, [&](Result r) { refused = !r.ok(); });
  EXPECT_TRUE(refused);
  ASSERT_TRUE(AwaitState(*guarded_, BreakerState::kClosed));
  EXPECT_EQ(inner_->calls(), 5);
  Result r = table_->MultiGet(keys_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->found, (std::vector<uint8_t>{1, 0}));
  EXPECT_EQ(Series(*guarded_, "strata_store_breaker_transitions_total", "to", "open"), 2);
  EXPECT_EQ(Series(*guarded_, "strata_store_breaker_transitions_total", "to", "half_open"), 2);
  EXPECT_EQ(Series(*guarded_, "strata_store_breaker_transitions_total", "to", "closed"), 1);
}

TEST_F(GuardedTableStoreTest, RequestsNeverWaitForAProbeOfAHungStore) {
  Guard(Options(microseconds(1), std::chrono::nanoseconds(0)));
  inner_->Set(HangingTableStore::Mode::kHanging);
  std::promise<Result> first;
  table_->MultiGetAsync(keys_, [&](Result r) { first.set_value(std::move(r)); });
  inner_->AwaitHanging(1);
  inner_->Release();
  EXPECT_FALSE(first.get_future().get().ok());
  ASSERT_EQ(guarded_->breaker_state(), BreakerState::kOpen);
  inner_->Set(HangingTableStore::Mode::kHanging);  // later calls hang until released
  // The next lookup starts a probe, which hangs; this lookup and the ones
  // after it are answered at once.
  for (int i = 0; i < 3; ++i) {
    bool answered = false;
    table_->MultiGetAsync(keys_, [&](Result r) { answered = !r.ok(); });
    EXPECT_TRUE(answered);
    EXPECT_FALSE(table_->MultiGet(keys_).ok());
  }
  inner_->AwaitHanging(1);  // the probe
  EXPECT_EQ(guarded_->breaker_state(), BreakerState::kHalfOpen);
  inner_->Release();
  ASSERT_TRUE(AwaitState(*guarded_, BreakerState::kOpen));
  EXPECT_EQ(inner_->calls(), 2);
}

TEST_F(GuardedTableStoreTest, AFullQueueAndLookupsQueuedBehindAHangFailFast) {
  Guard(Options(microseconds(1), hours(1), /*threads=*/1, /*max_queue=*/1));
  inner_->Set(HangingTableStore::Mode::kHanging);
  std::promise<Result> running, queued;
  table_->MultiGetAsync(keys_, [&](Result r) { running.set_value(std::move(r)); });
  inner_->AwaitHanging(1);
  table_->MultiGetAsync(keys_, [&](Result r) { queued.set_value(std::move(r)); });
  bool refused = false;
  table_->MultiGetAsync(keys_, [&](Result r) {
    refused = true;
    EXPECT_NE(r.status().message().find("too many lookups waiting"), std::string_view::npos)
        << r.status();
  });
  EXPECT_TRUE(refused);
  inner_->Release();
  EXPECT_FALSE(running.get_future().get().ok());
  // The queued lookup ran after the breaker opened: it never reached the store.
  EXPECT_NE(queued.get_future().get().status().message().find("circuit breaker open"),
            std::string_view::npos);
  EXPECT_EQ(inner_->calls(), 1);
}

TEST_F(GuardedTableStoreTest, AnswersPassThroughWhileTheStoreAnswers) {
  Guard(Options(hours(1), hours(1)));
  EXPECT_EQ(guarded_->kind(), "memory");
  EXPECT_EQ(*guarded_->CurrentVersion("t"), 1);
  Result r = table_->MultiGet(keys_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->values[0], "vvvv");
  EXPECT_EQ(table_->manifest().rows, 4);
  guarded_->Stop();  // later lookups are refused, not lost
  bool answered = false;
  table_->MultiGetAsync(keys_, [&](Result refused) { answered = !refused.ok(); });
  EXPECT_TRUE(answered);
}

}  // namespace
}  // namespace strata::serving
