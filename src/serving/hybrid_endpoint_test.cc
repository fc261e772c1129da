#include "serving/hybrid_endpoint.h"

#include <algorithm>
#include <cstring>

#include "gtest/gtest.h"
#include "serving/guarded_table_store.h"
#include "serving/server_core.h"
#include "serving/testing/fake_repository.h"
#include "serving/testing/hanging_table_store.h"
#include "store/memory_table_store.h"

namespace strata::serving {
namespace {
namespace fs = std::filesystem;

std::string Key(int64_t id) {
  std::string key;
  store::KeySchema::AppendInt(id, key);
  return key;
}

// Table rows id 0..4 with y = (100 + id, 100 + id): not what the doubling
// model computes, so the test sees which layer answered.
void Publish(store::TableStore& s, int64_t model_version) {
  auto builder = *s.NewBuilder("head", "");
  for (int64_t id = 0; id < 5; ++id) {
    const float y[2] = {100.0f + static_cast<float>(id), 100.0f + static_cast<float>(id)};
    EXPECT_TRUE(builder->Add(Key(id), std::string(reinterpret_cast<const char*>(y), 8)).ok());
  }
  store::TableManifest m;
  m.table = "head";
  m.model_name = "good";
  m.model_version = model_version;
  m.key = *store::KeySchema::Parse("id:INT64");
  m.outputs = {{"y", core::DataType::kFp32, {2}}};
  m.rows = 5;
  const int64_t v = *builder->Commit(m);
  EXPECT_TRUE(s.SetCurrentVersion("head", v).ok());
}

core::InferRequest Request(std::vector<int64_t> ids) {
  core::InferRequest r;
  r.model_name = "scores";
  core::Tensor id =
      core::Tensor::Zeros("id", core::DataType::kInt64, {static_cast<int64_t>(ids.size())});
  std::memcpy(id.data.data(), ids.data(), ids.size() * 8);
  core::Tensor x =
      core::Tensor::Zeros("x", core::DataType::kFp32, {static_cast<int64_t>(ids.size()), 2});
  for (size_t i = 0; i < ids.size(); ++i) {
    x.MutableAs<float>()[2 * i] = static_cast<float>(ids[i]);
    x.MutableAs<float>()[2 * i + 1] = 1;
  }
  r.inputs = {x, id};
  return r;
}

std::vector<std::string> Layers(const core::InferResponse& r) {
  std::vector<std::string_view> views;
  EXPECT_TRUE(core::SplitBytesElements(r.outputs.back().data, views).ok());
  return {views.begin(), views.end()};
}

class HybridEndpointTest : public ::testing::Test {
 protected:
  void Start(int64_t table_model_version) {
    store_ = std::make_shared<store::MemoryTableStore>();
    Publish(*store_, table_model_version);
    Serve(HybridEndpointConfig{.name = "scores",
                               .model = "good",
                               .table = "head",
                               .key = {"id"},
                               .cache_max_bytes = 1 << 20,
                               .cache_ttl = std::chrono::nanoseconds(0)});
  }

  // A server over the fake repository with one endpoint of `config`.
  void Serve(HybridEndpointConfig config, std::shared_ptr<store::TableStore> store = nullptr) {
    root_ = fs::path(::testing::TempDir()) /
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    testing::MakeFakeRepository(root_);
    auto endpoint =
        std::make_shared<HybridEndpoint>(std::move(config), store ? std::move(store) : store_);
    endpoint_ = endpoint.get();
    auto core = ServerCore::Create({.repository = root_,
                                    .poll_interval = std::chrono::milliseconds(0),
                                    .endpoints = {endpoint}},
                                   backends_);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = *std::move(core);
  }

  fs::path root_;
  runtime::BackendRegistry backends_ = testing::FakeBackends();
  std::shared_ptr<store::MemoryTableStore> store_;
  HybridEndpoint* endpoint_ = nullptr;
  std::unique_ptr<ServerCore> core_;
};

TEST_F(HybridEndpointTest, TableThenCacheThenModelInRowOrder) {
  Start(10);  // the fake repository serves good version 10
  auto first = core_->Infer(Request({1, 7, 3, 8}));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(Layers(*first), (std::vector<std::string>{"table", "model", "table", "model"}));
  auto y = first->outputs[0].As<float>();
  EXPECT_EQ(std::vector<float>(y.begin(), y.end()),
            (std::vector<float>{101, 101, 14, 2, 103, 103, 16, 2}));
  EXPECT_EQ(std::get<int64_t>(first->parameters.at("layer_model")), 2);
  EXPECT_EQ(std::get<std::string>(first->parameters.at("layer")), "mixed");
  EXPECT_EQ(first->model_version, "10");

  auto second = core_->Infer(Request({8, 7, 9}));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(Layers(*second), (std::vector<std::string>{"cache", "cache", "model"}));
  y = second->outputs[0].As<float>();
  EXPECT_EQ(std::vector<float>(y.begin(), y.end()), (std::vector<float>{16, 2, 14, 2, 18, 2}));
  EXPECT_EQ(endpoint_->cache_stats().hits, 2u);
}

TEST_F(HybridEndpointTest, AKeyAskedForTwiceIsComputedOnce) {
  Start(10);
  auto r = core_->Infer(Request({20, 21, 20}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Layers(*r), (std::vector<std::string>{"model", "model", "model"}));
  auto y = r->outputs[0].As<float>();
  EXPECT_EQ(std::vector<float>(y.begin(), y.end()), (std::vector<float>{40, 2, 42, 2, 40, 2}));
  EXPECT_EQ(endpoint_->cache_stats().inserts, 2u);
}

TEST_F(HybridEndpointTest, ATableOfAnotherModelVersionIsNotUsed) {
  Start(2);
  auto r = core_->Infer(Request({1, 2}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Layers(*r), (std::vector<std::string>{"model", "model"}));
  EXPECT_EQ(r->parameters.count("table"), 0u);
  auto y = r->outputs[0].As<float>();
  EXPECT_EQ(std::vector<float>(y.begin(), y.end()), (std::vector<float>{2, 2, 4, 2}));
}

TEST_F(HybridEndpointTest, ATableOfTheServingVersionIsUsedOnceItIsPublished) {
  Start(2);
  auto r = core_->Infer(Request({1, 2}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Layers(*r), (std::vector<std::string>{"model", "model"}));
  Publish(*store_, 10);  // a table of the version serving
  ASSERT_TRUE(endpoint_->Refresh().ok());
  r = core_->Infer(Request({1, 2, 3}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Layers(*r), (std::vector<std::string>{"table", "table", "table"}));
  EXPECT_EQ(std::get<int64_t>(r->parameters.at("table_version")), 2);
  auto y = r->outputs[0].As<float>();
  EXPECT_EQ(std::vector<float>(y.begin(), y.end()),
            (std::vector<float>{101, 101, 102, 102, 103, 103}));
  // Asking for one output only, and a version by number, plans the same.
  core::InferRequest layers_only = Request({4, 30});
  layers_only.model_version = "10";
  layers_only.outputs = {core::RequestedOutput{.name = "layer", .parameters = {}}};
  r = core_->Infer(layers_only);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_EQ(Layers(*r), (std::vector<std::string>{"table", "model"}));
}

TEST_F(HybridEndpointTest, BadRequestsAreInvalid) {
  Start(10);
  core::InferRequest no_key = Request({1});
  no_key.inputs.pop_back();
  EXPECT_EQ(core_->Infer(no_key).status().code(), absl::StatusCode::kInvalidArgument);
  core::InferRequest short_x = Request({1, 2});
  short_x.inputs[0] = core::Tensor::Zeros("x", core::DataType::kFp32, {1, 2});
  EXPECT_EQ(core_->Infer(short_x).status().code(), absl::StatusCode::kInvalidArgument);
}

// plan: dynamic without key columns, under the model's own name: a cache in
// front of the model keyed by each row's input bytes; callers send the
// model's own request.
class DynamicCacheTest : public HybridEndpointTest {
 protected:
  void StartDynamic() {
    Serve(HybridEndpointConfig{.name = "good",
                               .model = "good",
                               .table = "",
                               .key = {},
                               .cache_max_bytes = 1 << 20,
                               .cache_ttl = std::chrono::nanoseconds(0),
                               .plan = PlanKind::kDynamic});
  }

  static core::InferRequest Rows(std::vector<float> firsts) {
    core::InferRequest r;
    r.model_name = "good";
    core::Tensor x =
        core::Tensor::Zeros("x", core::DataType::kFp32, {static_cast<int64_t>(firsts.size()), 2});
    for (size_t i = 0; i < firsts.size(); ++i) {
      x.MutableAs<float>()[2 * i] = firsts[i];
      x.MutableAs<float>()[2 * i + 1] = 1;
    }
    r.inputs = {x};
    return r;
  }
};

TEST_F(DynamicCacheTest, RowsAreCachedByTheirInputBytes) {
  StartDynamic();
  auto first = core_->Infer(Rows({1, 2, 1}));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(Layers(*first), (std::vector<std::string>{"model", "model", "model"}));
  EXPECT_EQ(endpoint_->cache_stats().inserts, 2u);  // row {1, 1} computed once
  auto second = core_->Infer(Rows({2, 3, 1}));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(Layers(*second), (std::vector<std::string>{"cache", "model", "cache"}));
  auto y = second->outputs[0].As<float>();
  EXPECT_EQ(std::vector<float>(y.begin(), y.end()), (std::vector<float>{4, 2, 6, 2, 2, 2}));
  EXPECT_EQ(second->model_name, "good");
  const EndpointDescription d = endpoint_->Describe();
  EXPECT_EQ(d.plan, PlanKind::kDynamic);
  EXPECT_TRUE(d.cache->keyed_by_row_inputs);
  EXPECT_FALSE(d.table.has_value());
  ASSERT_EQ(d.inputs.size(), 1u);
  EXPECT_EQ(d.inputs[0].name, "x");
}

TEST_F(DynamicCacheTest, InputsAreCheckedAgainstTheModelFirst) {
  StartDynamic();
  core::InferRequest wrong = Rows({1});
  wrong.inputs[0].name = "y";
  absl::StatusOr<core::InferResponse> r = core_->Infer(wrong);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(r.status().message()).find("endpoint 'good'"), std::string::npos);
  core::InferRequest fp64 = Rows({1});
  fp64.inputs[0] = core::Tensor::Zeros("x", core::DataType::kFp64, {1, 2});
  EXPECT_EQ(core_->Infer(fp64).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(endpoint_->cache_stats().inserts, 0u);
}

// The table's store is down (a Redis refusing connections, behind its
// guard): every row goes on to the cache and the model, with the right
// answers, the response says it is degraded, and the rows are counted.
TEST_F(HybridEndpointTest, AStoreThatIsDownLeavesEveryRowToTheCacheAndTheModel) {
  auto down = std::make_shared<testing::HangingTableStore>();
  Publish(*down, 10);
  auto guarded = std::make_shared<GuardedTableStore>(down, GuardedTableStoreOptions{});
  Serve(HybridEndpointConfig{.name = "scores",
                             .model = "good",
                             .table = "head",
                             .key = {"id"},
                             .cache_max_bytes = 1 << 20},
        guarded);
  auto up = core_->Infer(Request({1, 7}));
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(Layers(*up), (std::vector<std::string>{"table", "model"}));
  down->Set(testing::HangingTableStore::Mode::kRefusing);
  for (const std::vector<std::string>& layers :
       {std::vector<std::string>{"model", "cache"}, std::vector<std::string>{"cache", "cache"}}) {
    auto r = core_->Infer(Request({1, 7}));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(Layers(*r), layers);
    auto y = r->outputs[0].As<float>();  // the model's answers, not the table's 101
    EXPECT_EQ(std::vector<float>(y.begin(), y.end()), (std::vector<float>{2, 2, 14, 2}));
    EXPECT_EQ(std::get<bool>(r->parameters.at("degraded")), true);
    EXPECT_EQ(r->parameters.count("table"), 0u);
  }
  const std::vector<prometheus::MetricFamily> families = core_->CollectMetrics();
  auto unavailable = std::find_if(families.begin(), families.end(), [](const auto& f) {
    return f.name == "strata_endpoint_table_unavailable_rows_total";
  });
  ASSERT_NE(unavailable, families.end());
  EXPECT_EQ(unavailable->metric.at(0).counter.value, 4);
  // Back: the table answers again once the breaker lets a probe through.
  down->Set(testing::HangingTableStore::Mode::kAnswering);
  EXPECT_EQ(guarded->breaker_state(), BreakerState::kClosed);  // 2 failures of 3
  auto back = core_->Infer(Request({1, 7}));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(Layers(*back), (std::vector<std::string>{"table", "cache"}));
  EXPECT_EQ(back->parameters.count("degraded"), 0u);
}

}  // namespace
}  // namespace strata::serving
