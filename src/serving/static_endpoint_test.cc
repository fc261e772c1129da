#include "serving/static_endpoint.h"

#include <cstring>

#include "gtest/gtest.h"
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
  core::Tensor id = core::Tensor::Zeros("store_id", core::DataType::kInt64,
                                        {static_cast<int64_t>(ids.size())});
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
  EXPECT_EQ(endpoint->Infer(Request({1}, {"mon"})).status().code(),
            absl::StatusCode::kUnavailable);
  Publish(*s, 1);
  ASSERT_TRUE(endpoint->Refresh().ok());
  EndpointDescription d = endpoint->Describe();
  EXPECT_TRUE(d.ready);
  EXPECT_EQ(d.plan, "static");
  EXPECT_EQ(d.versions, (std::vector<int64_t>{1}));
  ASSERT_EQ(d.inputs.size(), 2u);
  EXPECT_EQ(d.inputs[1].name, "day");
  EXPECT_EQ(d.inputs[1].dtype, core::DataType::kBytes);
  ASSERT_EQ(d.outputs.size(), 2u);
  EXPECT_EQ(d.outputs[1].name, "found");
  EXPECT_EQ(d.properties.at("model"), "sales_gbdt");
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

}  // namespace
}  // namespace strata::serving
