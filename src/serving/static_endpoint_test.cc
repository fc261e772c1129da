#include "serving/static_endpoint.h"

#include <atomic>
#include <cstring>
#include <future>
#include <thread>

#include "gtest/gtest.h"
#include "serving/guarded_table_store.h"
#include "serving/server_core.h"
#include "serving/static_answer_cache.h"
#include "serving/testing/fake_repository.h"
#include "serving/testing/hanging_table_store.h"
#include "store/memory_table_store.h"

namespace strata::serving {
namespace {

std::string Key(int64_t id, const std::string& day) {
  std::string key;
  store::KeySchema::AppendInt(id, key);
  store::KeySchema::AppendBytes(day, key);
  return key;
}

std::string Float(float v) { return std::string(reinterpret_cast<char*>(&v), 4); }

int64_t Publish(store::TableStore& s, float scale) {
  auto builder = *s.NewBuilder("forecast", "");
  for (int64_t id = 0; id < 10; ++id) {
    EXPECT_TRUE(builder->Add(Key(id, "mon"), Float(scale * id)).ok());
  }
  store::TableManifest m;
  m.table = "forecast";
  m.model_name = "sales_gbdt";
  m.model_version = 3;
  m.key = *store::KeySchema::Parse("store_id:INT64,day");
  m.outputs = {{"units", core::DataType::kFp32, {}}};
  m.rows = 10;
  const int64_t v = *builder->Commit(m);
  EXPECT_TRUE(s.SetCurrentVersion("forecast", v).ok());
  return v;
}

core::InferRequest Request(std::vector<int64_t> ids, std::vector<std::string> days) {
  core::InferRequest r;
  r.model_name = "sales";
  core::Tensor id =
      core::Tensor::Zeros("store_id", core::DataType::kInt64, {static_cast<int64_t>(ids.size())});
  std::memcpy(id.data.data(), ids.data(), ids.size() * 8);
  core::Tensor day{"day", core::DataType::kBytes, {static_cast<int64_t>(days.size())}, {}};
  for (const std::string& d : days) core::AppendBytesElement(d, day.data);
  r.inputs = {day, id};  // any order
  return r;
}

TEST(StaticEndpointTest, LooksUpManyRowsWithDefaultsForMisses) {
  auto s = std::make_shared<store::MemoryTableStore>();
  Publish(*s, 1.5f);
  auto endpoint = StaticEndpoint::Create({"sales", "forecast", 0.01}, s);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  auto response = (*endpoint)->Infer(Request({4, 99, 2}, {"mon", "mon", "tue"}));
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->outputs.size(), 2u);
  auto units = response->outputs[0].As<float>();
  EXPECT_EQ(units[0], 6.0f);
  EXPECT_EQ(units[1], 0.01f);
  EXPECT_EQ(units[2], 0.01f);
  EXPECT_EQ(response->outputs[1].name, "found");
  EXPECT_EQ(response->outputs[1].data, (std::vector<uint8_t>{1, 0, 0}));
  EXPECT_EQ(response->model_version, "1");
  EXPECT_EQ(std::get<int64_t>(response->parameters.at("model_version")), 3);
  EXPECT_EQ(std::get<std::string>(response->parameters.at("model")), "sales_gbdt");
}

TEST(StaticEndpointTest, WrongOrMissingKeyColumnsAreInvalid) {
  auto s = std::make_shared<store::MemoryTableStore>();
  Publish(*s, 1);
  auto endpoint = *StaticEndpoint::Create({"sales", "forecast"}, s);
  core::InferRequest missing = Request({1}, {"mon"});
  missing.inputs.pop_back();
  auto r = endpoint->Infer(missing);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("needs key column 'store_id'"), std::string_view::npos);
  core::InferRequest wrong = Request({1}, {"mon"});
  wrong.inputs[1].dtype = core::DataType::kFp64;
  r = endpoint->Infer(wrong);
  EXPECT_NE(r.status().message().find("'store_id' must be an integer"), std::string_view::npos)
      << r.status();
}

TEST(StaticEndpointTest, NewVersionsSwapInAndOldReadersKeepTheirs) {
  auto s = std::make_shared<store::MemoryTableStore>();
  Publish(*s, 1);
  auto endpoint = *StaticEndpoint::Create({"sales", "forecast"}, s);
  auto held = endpoint->table();
  Publish(*s, 2);
  ASSERT_TRUE(endpoint->Refresh().ok());
  EXPECT_EQ(endpoint->table()->manifest().version, 2);
  EXPECT_EQ(held->manifest().version, 1);
  auto response = *endpoint->Infer(Request({3}, {"mon"}));
  EXPECT_EQ(response.outputs[0].As<float>()[0], 6.0f);
}

TEST(StaticEndpointTest, StartsNotReadyAndBecomesReadyWhenATableAppears) {
  auto s = std::make_shared<store::MemoryTableStore>();
  std::unique_ptr<StaticEndpoint> endpoint = StaticEndpoint::Start({"sales", "forecast"}, s);
  EXPECT_FALSE(endpoint->Describe().ready);
  EXPECT_NE(endpoint->Describe().reason.find("has no version"), std::string::npos);
  EXPECT_EQ(endpoint->Infer(Request({1}, {"mon"})).status().code(), absl::StatusCode::kUnavailable);
  Publish(*s, 1);
  ASSERT_TRUE(endpoint->Refresh().ok());
  EndpointDescription d = endpoint->Describe();
  EXPECT_TRUE(d.ready);
  EXPECT_EQ(d.plan, PlanKind::kStatic);
  EXPECT_EQ(d.versions, (std::vector<int64_t>{1}));
  ASSERT_EQ(d.inputs.size(), 2u);
  EXPECT_EQ(d.inputs[1].name, "day");
  EXPECT_EQ(d.inputs[1].dtype, core::DataType::kBytes);
  ASSERT_EQ(d.outputs.size(), 2u);
  EXPECT_EQ(d.outputs[1].name, "found");
  EXPECT_EQ(d.model, "sales_gbdt");
}

TEST(StaticEndpointTest, AVersionWithAnotherKeyIsRefused) {
  auto s = std::make_shared<store::MemoryTableStore>();
  Publish(*s, 1);
  auto endpoint = StaticEndpoint::Create({"sales", "forecast", 0, true, {"store_id", "date"}}, s);
  ASSERT_FALSE(endpoint.ok());
  EXPECT_NE(endpoint.status().message().find("its key is store_id:INT64,day:BYTES"),
            std::string_view::npos)
      << endpoint.status();
}

TEST(StaticEndpointTest, AsyncCallsAcceptOnlyTheServedVersion) {
  auto s = std::make_shared<store::MemoryTableStore>();
  Publish(*s, 1);
  auto endpoint = *StaticEndpoint::Create({"sales", "forecast"}, s);
  core::InferRequest request = Request({1}, {"mon"});
  request.model_version = "1";
  absl::StatusOr<core::InferResponse> got;
  endpoint->InferAsync(request, [&](absl::StatusOr<core::InferResponse> r) { got = r; });
  EXPECT_TRUE(got.ok()) << got.status();
  request.model_version = "2";
  endpoint->InferAsync(request, [&](absl::StatusOr<core::InferResponse> r) { got = r; });
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
}

// A MemoryTableStore that says it is RocksDB (the kind of store a static
// endpoint holds in memory) and counts the lookups that reach it.
class PretendRocksDb : public store::MemoryTableStore {
 public:
  std::string_view kind() const override { return "rocksdb"; }
  absl::StatusOr<std::shared_ptr<store::PredictionTable>> Open(std::string_view table,
                                                               int64_t version) const override {
    auto opened = MemoryTableStore::Open(table, version);
    if (!opened.ok()) return opened;
    return std::make_shared<Counting>(*std::move(opened), lookups);
  }
  mutable std::atomic<int> lookups = 0;

 private:
  class Counting : public store::PredictionTable {
   public:
    Counting(std::shared_ptr<store::PredictionTable> table, std::atomic<int>& lookups)
        : table_(std::move(table)), lookups_(lookups) {}
    const store::TableManifest& manifest() const override { return table_->manifest(); }
    absl::StatusOr<store::LookupResult> MultiGet(std::span<const std::string> keys) const override {
      ++lookups_;
      return table_->MultiGet(keys);
    }
    absl::Status Scan(const Visitor& visit) const override { return table_->Scan(visit); }

   private:
    std::shared_ptr<store::PredictionTable> table_;
    std::atomic<int>& lookups_;
  };
};

TEST(StaticEndpointTest, ASmallRocksDbTableIsHeldInMemory) {
  auto s = std::make_shared<PretendRocksDb>();
  Publish(*s, 1.5f);
  auto endpoint = *StaticEndpoint::Create({"sales", "forecast", 0.01}, s);
  EXPECT_GT(endpoint->Describe().table->in_memory_bytes.value_or(0), 0u);
  auto response = endpoint->Infer(Request({4, 99, 2, 9}, {"mon", "mon", "tue", "mon"}));
  ASSERT_TRUE(response.ok()) << response.status();
  auto units = response->outputs[0].As<float>();
  EXPECT_EQ(std::vector<float>(units.begin(), units.end()),
            (std::vector<float>{6.0f, 0.01f, 0.01f, 13.5f}));
  EXPECT_EQ(response->outputs[1].data, (std::vector<uint8_t>{1, 0, 0, 1}));
  EXPECT_EQ(s->lookups, 0);  // answered from memory
  // A new version is read into memory too.
  Publish(*s, 2);
  ASSERT_TRUE(endpoint->Refresh().ok());
  response = endpoint->Infer(Request({3}, {"mon"}));
  EXPECT_EQ(response->outputs[0].As<float>()[0], 6.0f);
  EXPECT_EQ(s->lookups, 0);
}

void ExpectSameAnswer(const core::InferResponse& a, const core::InferResponse& b) {
  EXPECT_EQ(a.model_name, b.model_name);
  EXPECT_EQ(a.model_version, b.model_version);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.has_id, b.has_id);
  EXPECT_EQ(a.parameters, b.parameters);
  ASSERT_EQ(a.outputs.size(), b.outputs.size());
  for (size_t o = 0; o < a.outputs.size(); ++o) {
    EXPECT_EQ(a.outputs[o].name, b.outputs[o].name);
    EXPECT_EQ(a.outputs[o].dtype, b.outputs[o].dtype);
    EXPECT_EQ(a.outputs[o].shape, b.outputs[o].shape);
    EXPECT_EQ(a.outputs[o].data, b.outputs[o].data);
  }
}

TEST(StaticEndpointTest, AKeptAnswerIsTheAnswerTheStagesGave) {
  auto s = std::make_shared<PretendRocksDb>();
  Publish(*s, 1.5f);
  auto endpoint = *StaticEndpoint::Create({"sales", "forecast", 0.01}, s);
  StaticAnswerCache& cache = StaticAnswerCache::ThisThread();
  core::InferRequest request = Request({4}, {"mon"});
  request.id = "first";
  auto computed = endpoint->Infer(request);
  ASSERT_TRUE(computed.ok()) << computed.status();
  // Kept by the first or, when its slot held another key, the second call.
  ASSERT_TRUE(endpoint->Infer(request).ok());
  const uint64_t hits = cache.hits();
  auto kept = endpoint->Infer(request);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(cache.hits(), hits + 1);  // answered from the cache
  ExpectSameAnswer(*computed, *kept);
  EXPECT_EQ(kept->outputs[0].As<float>()[0], 6.0f);
  request.id = "second";  // the id is the request's, not the kept one's
  EXPECT_EQ(endpoint->Infer(request)->id, "second");
  EXPECT_EQ(cache.hits(), hits + 2);
}

TEST(StaticEndpointTest, AnswersOfAReplacedVersionAreNotServed) {
  auto s = std::make_shared<PretendRocksDb>();
  Publish(*s, 1.5f);
  auto endpoint = *StaticEndpoint::Create({"sales", "forecast"}, s);
  EXPECT_EQ(endpoint->Infer(Request({3}, {"mon"}))->outputs[0].As<float>()[0], 4.5f);
  EXPECT_EQ(endpoint->Infer(Request({3}, {"mon"}))->outputs[0].As<float>()[0], 4.5f);
  Publish(*s, 2);
  ASSERT_TRUE(endpoint->Refresh().ok());
  auto swapped = endpoint->Infer(Request({3}, {"mon"}));
  EXPECT_EQ(swapped->outputs[0].As<float>()[0], 6.0f);
  EXPECT_EQ(swapped->model_version, "2");
  EXPECT_EQ(std::get<int64_t>(swapped->parameters.at("table_version")), 2);
}

TEST(StaticEndpointTest, OnlySingleFoundKeysOfVersionsHeldInMemoryAreKept) {
  auto held = std::make_shared<PretendRocksDb>();
  Publish(*held, 1);
  auto store = std::make_shared<store::MemoryTableStore>();  // not held by the endpoint
  Publish(*store, 1);
  auto in_memory = *StaticEndpoint::Create({"sales", "forecast"}, held);
  auto in_store = *StaticEndpoint::Create({"sales", "forecast"}, store);
  StaticAnswerCache& cache = StaticAnswerCache::ThisThread();
  const uint64_t hits = cache.hits();
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(in_store->Infer(Request({1}, {"mon"})).ok());
    ASSERT_TRUE(in_memory->Infer(Request({1, 2}, {"mon", "mon"})).ok());  // two rows
    ASSERT_TRUE(in_memory->Infer(Request({99}, {"mon"})).ok());           // a default
  }
  core::InferRequest named = Request({1}, {"mon"});
  named.outputs = {{.name = "units", .parameters = {}}};
  ASSERT_TRUE(in_memory->Infer(named).ok());
  EXPECT_EQ(in_memory->Infer(named)->outputs.size(), 1u);
  EXPECT_EQ(cache.hits(), hits);
}

TEST(StaticEndpointTest, ATableLargerThanPinMaxBytesIsLookedUpInTheStore) {
  auto s = std::make_shared<PretendRocksDb>();
  Publish(*s, 1.5f);
  StaticEndpointConfig config{"sales", "forecast", 0.01};
  config.pin_max_bytes = 100;  // 10 rows do not fit
  auto endpoint = *StaticEndpoint::Create(config, s);
  EXPECT_FALSE(endpoint->Describe().table->in_memory_bytes.has_value());
  auto response = endpoint->Infer(Request({4, 99}, {"mon", "mon"}));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->outputs[0].As<float>()[0], 6.0f);
  EXPECT_EQ(s->lookups, 1);
}

TEST(StaticEndpointTest, RowsPerLayerGoToTheServerMetrics) {
  const std::filesystem::path root =
      std::filesystem::path(::testing::TempDir()) / "static_endpoint_layers";
  testing::MakeFakeRepository(root);
  auto s = std::make_shared<store::MemoryTableStore>();
  Publish(*s, 1.5f);
  std::shared_ptr<StaticEndpoint> endpoint = *StaticEndpoint::Create({"sales", "forecast"}, s);
  runtime::BackendRegistry backends = testing::FakeBackends();
  auto core = ServerCore::Create(
      {.repository = root, .poll_interval = std::chrono::milliseconds(0), .endpoints = {endpoint}},
      backends);
  ASSERT_TRUE(core.ok()) << core.status();
  ASSERT_TRUE((*core)->Infer(Request({4, 99, 2}, {"mon", "mon", "tue"})).ok());
  ASSERT_TRUE((*core)->Infer(Request({1}, {"mon"})).ok());
  ServerMetrics& metrics = (*core)->metrics();
  std::optional<LayerSummary> table = metrics.Layer("sales", "table");
  std::optional<LayerSummary> defaults = metrics.Layer("sales", "default");
  ASSERT_TRUE(table.has_value());
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(table->rows, 2);
  EXPECT_EQ(table->requests, 2u);
  EXPECT_EQ(defaults->rows, 2);
  EXPECT_EQ(defaults->requests, 1u);
}

TEST(StaticEndpointTest, AKeptAnswerIsCountedAsATableRow) {
  const std::filesystem::path root =
      std::filesystem::path(::testing::TempDir()) / "static_endpoint_kept_layers";
  testing::MakeFakeRepository(root);
  auto s = std::make_shared<PretendRocksDb>();
  Publish(*s, 1.5f);
  std::shared_ptr<StaticEndpoint> endpoint = *StaticEndpoint::Create({"sales", "forecast"}, s);
  runtime::BackendRegistry backends = testing::FakeBackends();
  auto core = ServerCore::Create(
      {.repository = root, .poll_interval = std::chrono::milliseconds(0), .endpoints = {endpoint}},
      backends);
  ASSERT_TRUE(core.ok()) << core.status();
  const uint64_t hits = StaticAnswerCache::ThisThread().hits();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE((*core)->Infer(Request({2}, {"mon"})).ok());
  EXPECT_GE(StaticAnswerCache::ThisThread().hits(), hits + 2);  // kept after one or two
  std::optional<LayerSummary> table = (*core)->metrics().Layer("sales", "table");
  ASSERT_TRUE(table.has_value());
  EXPECT_EQ(table->rows, 4);
  EXPECT_EQ(table->requests, 4u);
}

// A store that hangs (as a SIGSTOPped Redis does) behind its guard: the
// request's thread is never held, and once the breaker is open every
// request is answered at once, by the endpoint's policy.
TEST(StaticEndpointTest, AHungStoreNeverHoldsTheCallerAndAnswersByPolicy) {
  auto hanging = std::make_shared<testing::HangingTableStore>();
  Publish(*hanging, 1.5f);
  auto guarded = std::make_shared<GuardedTableStore>(
      hanging, GuardedTableStoreOptions{.breaker = {.hang_after = std::chrono::microseconds(1),
                                                    .open_for = std::chrono::hours(1)}});
  auto lenient = *StaticEndpoint::Create({"sales", "forecast", 0.01}, guarded);
  StaticEndpointConfig strict_config{"strict", "forecast", 0.01};
  strict_config.default_when_unavailable = false;
  auto strict = *StaticEndpoint::Create(strict_config, guarded);
  hanging->Set(testing::HangingTableStore::Mode::kHanging);

  std::promise<absl::StatusOr<core::InferResponse>> first;
  lenient->InferAsync(Request({4}, {"mon"}), [&](absl::StatusOr<core::InferResponse> r) {
    first.set_value(std::move(r));
  });
  hanging->AwaitHanging(1);  // InferAsync returned; the lookup hangs elsewhere
  hanging->Release();
  absl::StatusOr<core::InferResponse> degraded = first.get_future().get();
  ASSERT_TRUE(degraded.ok()) << degraded.status();
  EXPECT_EQ(std::get<bool>(degraded->parameters.at("degraded")), true);
  EXPECT_EQ(degraded->outputs[0].As<float>()[0], 0.01f);
  EXPECT_EQ(guarded->breaker_state(), BreakerState::kOpen);

  // Open: answered on the calling thread, without asking the store.
  const int calls = hanging->calls();
  hanging->Set(testing::HangingTableStore::Mode::kHanging);
  bool answered = false;
  lenient->InferAsync(Request({4}, {"mon"}), [&](absl::StatusOr<core::InferResponse> r) {
    answered = r.ok() && r->parameters.contains("degraded");
  });
  EXPECT_TRUE(answered);
  absl::StatusOr<core::InferResponse> refused = strict->Infer(Request({4}, {"mon"}));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("circuit breaker open"), std::string_view::npos);
  EXPECT_FALSE(lenient->Refresh().ok());  // the refresh thread fails fast too
  EXPECT_EQ(lenient->Describe().ready, true);
  EXPECT_EQ(hanging->calls(), calls);
  hanging->Release();
}

// A refresh waiting for a hung store holds nothing a request needs.
TEST(StaticEndpointTest, ARefreshWaitingForTheStoreBlocksNoRequest) {
  auto hanging = std::make_shared<testing::HangingTableStore>();
  Publish(*hanging, 1.5f);
  auto endpoint = *StaticEndpoint::Create({"sales", "forecast", 0.01}, hanging);
  hanging->Set(testing::HangingTableStore::Mode::kHanging);
  std::thread refresh([&] { EXPECT_FALSE(endpoint->Refresh().ok()); });
  hanging->AwaitHanging(1);
  // Metadata and readiness (what /ready and the status page call) while the
  // refresh waits; before the fix they waited for it (10 s: a generous bound
  // for a call that takes microseconds).
  std::future<bool> described = std::async(std::launch::async, [&] {
    return endpoint->Describe().ready && endpoint->last_error().empty();
  });
  const bool in_time = described.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  hanging->Release();
  refresh.join();
  EXPECT_TRUE(in_time);
  EXPECT_TRUE(described.get());
}

}  // namespace
}  // namespace strata::serving
