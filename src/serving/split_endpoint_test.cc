#include "serving/split_endpoint.h"

#include <cstring>
#include <set>

#include "gtest/gtest.h"
#include "serving/server_core.h"
#include "serving/testing/fake_repository.h"

namespace strata::serving {
namespace {
namespace fs = std::filesystem;

// `x` = (3, 0), and `user_id` unless `user` is negative.
core::InferRequest Request(int64_t user, std::vector<std::pair<std::string, std::string>> headers) {
  core::InferRequest r;
  r.model_name = "ab";
  core::Tensor x = core::Tensor::Zeros("x", core::DataType::kFp32, {1, 2});
  x.MutableAs<float>()[0] = 3;
  core::Tensor id = core::Tensor::Zeros("user_id", core::DataType::kInt64, {1});
  std::memcpy(id.data.data(), &user, 8);
  r.inputs = {x};
  if (user >= 0) r.inputs.push_back(id);
  r.headers = std::move(headers);
  return r;
}

std::string Param(const core::InferResponse& r, const char* name) {
  return std::get<std::string>(r.parameters.at(name));
}

class SplitEndpointTest : public ::testing::Test {
 protected:
  void Serve(SplitEndpointConfig config) {
    root_ = fs::path(::testing::TempDir()) /
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    testing::MakeFakeRepository(root_);
    testing::WriteFile(root_ / "models/good/config.yaml",
                       std::string(testing::kDoublingConfig) + "version_policy: all\n");
    absl::StatusOr<std::unique_ptr<SplitEndpoint>> endpoint = SplitEndpoint::Create(config);
    ASSERT_TRUE(endpoint.ok()) << endpoint.status();
    split_ = std::shared_ptr<SplitEndpoint>(*std::move(endpoint));
    auto core = ServerCore::Create(
        {.repository = root_, .poll_interval = std::chrono::milliseconds(0), .endpoints = {split_}},
        backends_);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = *std::move(core);
  }

  static SplitEndpointConfig Config(std::string sticky_key, std::string sticky_header) {
    return {.name = "ab",
            .arms = {{.name = "stable", .model = "good", .version = "1", .weight = 50},
                     {.name = "canary", .model = "good", .version = "2", .weight = 50}},
            .sticky_key = std::move(sticky_key),
            .sticky_header = std::move(sticky_header),
            .salt = ""};
  }

  fs::path root_;
  runtime::BackendRegistry backends_ = testing::FakeBackends();
  std::shared_ptr<SplitEndpoint> split_;  // also the core's
  std::unique_ptr<ServerCore> core_;
};

TEST_F(SplitEndpointTest, StickyColumnKeepsAKeyOnOneArmAndTheResponseNamesIt) {
  Serve(Config("user_id", ""));
  std::set<std::string> seen;
  for (int64_t user = 0; user < 40; ++user) {
    auto first = core_->Infer(Request(user, {}));
    ASSERT_TRUE(first.ok()) << first.status();  // user_id is dropped: not a model input
    auto again = core_->Infer(Request(user, {}));
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(Param(*first, "arm"), Param(*again, "arm"));
    EXPECT_EQ(Param(*first, "model_version"), Param(*first, "arm") == "stable" ? "1" : "2");
    EXPECT_EQ(first->outputs[0].As<float>()[0], 6);
    seen.insert(Param(*first, "arm"));
  }
  EXPECT_EQ(seen.size(), 2u);
  const EndpointDescription d = core_->endpoints().front()->Describe();
  EXPECT_EQ(d.plan, PlanKind::kSplit);
  EXPECT_TRUE(d.ready) << d.reason;
  EXPECT_EQ(d.versions, (std::vector<int64_t>{1, 2}));
}

TEST_F(SplitEndpointTest, HeaderForcesAnArmAndHeadersCarryTheKey) {
  Serve(Config("", "x-user-id"));
  auto forced = core_->Infer(Request(-1, {{"x-user-id", "u1"}, {"x-strata-arm", "canary"}}));
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_EQ(Param(*forced, "arm"), "canary");
  EXPECT_EQ(forced->model_version, "2");
  auto unknown = core_->Infer(Request(-1, {{"x-user-id", "u1"}, {"x-strata-arm", "nope"}}));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  auto keyless = core_->Infer(Request(-1, {}));
  EXPECT_EQ(keyless.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(keyless.status().message().find("x-user-id"), std::string_view::npos);
}

TEST_F(SplitEndpointTest, AVersionInTheRequestIsRefused) {
  Serve(Config("", ""));
  core::InferRequest r = Request(-1, {});
  r.model_version = "1";
  EXPECT_EQ(core_->Infer(r).status().code(), absl::StatusCode::kInvalidArgument);
  r.model_version.clear();
  auto random = core_->Infer(r);
  ASSERT_TRUE(random.ok()) << random.status();
  EXPECT_FALSE(Param(*random, "arm").empty());
}

TEST_F(SplitEndpointTest, SetArmsSwapsTheSnapshotKeysOnlyMoveIntoTheGrowingArmAndCounts) {
  Serve(Config("user_id", ""));
  SplitEndpoint* split = split_.get();
  const auto arms_of_users = [&] {
    std::vector<std::string> arms;
    for (int64_t user = 0; user < 200; ++user) {
      auto answer = core_->Infer(Request(user, {}));
      EXPECT_TRUE(answer.ok()) << answer.status();
      arms.push_back(answer.ok() ? Param(*answer, "arm") : "");
    }
    return arms;
  };
  ASSERT_TRUE(split
                  ->SetArms({{.name = "stable", .model = "good", .version = "1", .weight = 90},
                             {.name = "canary", .model = "good", .version = "2", .weight = 10}})
                  .ok());
  const std::vector<std::string> before = arms_of_users();
  const auto routing = split->routing();
  EXPECT_EQ(routing->windows[0]->Read().requests + routing->windows[1]->Read().requests, 200);
  ASSERT_TRUE(split
                  ->SetArms({{.name = "stable", .model = "good", .version = "1", .weight = 40},
                             {.name = "canary", .model = "good", .version = "10", .weight = 60}})
                  .ok());
  EXPECT_EQ(split->routing()->windows[1]->Read().requests, 0);  // a new window
  const std::vector<std::string> after = arms_of_users();
  int moved = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i] == "canary") {
      EXPECT_EQ(after[i], "canary") << "user " << i;
    }
    moved += before[i] != after[i];
  }
  EXPECT_GT(moved, 50);
  auto answer = core_->Infer(Request(0, {{"x-strata-arm", "canary"}}));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(Param(*answer, "model_version"), "10");
  // Weights SplitAssignment refuses leave the snapshot as it was.
  EXPECT_EQ(
      split->SetArms({{.name = "stable", .model = "good", .version = "1", .weight = 0}}).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(split->routing()->arms.size(), 2u);
}

TEST(SplitEndpointCreateTest, RefusesWeightsThatSumToZero) {
  SplitEndpointConfig config{.name = "ab",
                             .arms = {{.name = "a", .model = "good", .version = "", .weight = 0}},
                             .sticky_key = "",
                             .sticky_header = "",
                             .salt = ""};
  EXPECT_EQ(SplitEndpoint::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
}

// An endpoint that answers every call with version "7" and keeps the
// headers and inputs it was called with.
class FakeTableEndpoint : public Endpoint {
 public:
  const std::string& name() const override { return name_; }
  EndpointDescription Describe() const override {
    EndpointDescription d;
    d.name = name_;
    d.versions = {7};
    d.ready = ready;
    d.reason = ready ? "" : "table 'lookup' has no version yet";
    d.inputs = {{.name = "x", .dtype = core::DataType::kFp32, .shape = {-1, 2}}};
    return d;
  }
  void InferAsync(core::InferRequest request, InferCallback done) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    calls.push_back(request);
    core::InferResponse response;
    response.model_name = name_;
    response.model_version = "7";
    done(std::move(response));
  }
  void Connect(const PlanServices&) override {}

  bool ready = true;
  mutable std::mutex mutex_;
  mutable std::vector<core::InferRequest> calls;

 private:
  const std::string name_ = "lookup";
};

class SplitEndpointArmTest : public SplitEndpointTest {
 protected:
  SplitEndpointConfig WithEndpointArm() {
    return {
        .name = "ab",
        .arms = {{.name = "model", .model = "good", .version = "1", .weight = 50},
                 {.name = "table", .model = "", .version = "", .weight = 50, .endpoint = "lookup"}},
        .sticky_key = "user_id",
        .sticky_header = "",
        .salt = "",
        .endpoints = {{"lookup", table_}}};
  }
  std::shared_ptr<FakeTableEndpoint> table_ = std::make_shared<FakeTableEndpoint>();
};

TEST_F(SplitEndpointArmTest, AnEndpointArmAnswersThroughTheEndpointStickyAndNamed) {
  Serve(WithEndpointArm());
  std::set<std::string> seen;
  for (int64_t user = 0; user < 40; ++user) {
    auto first = core_->Infer(Request(user, {}));
    ASSERT_TRUE(first.ok()) << first.status();
    auto again = core_->Infer(Request(user, {}));
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(Param(*first, "arm"), Param(*again, "arm"));
    EXPECT_EQ(Param(*first, "model_version"), Param(*first, "arm") == "table" ? "7" : "1");
    seen.insert(Param(*first, "arm"));
  }
  EXPECT_EQ(seen.size(), 2u);
  std::lock_guard<std::mutex> lock(table_->mutex_);
  ASSERT_FALSE(table_->calls.empty());
  for (const core::InferRequest& call : table_->calls) {
    EXPECT_TRUE(call.model_version.empty());  // the endpoint chooses its version
    ASSERT_EQ(call.inputs.size(), 1u);        // user_id is not one of its inputs
    EXPECT_EQ(call.inputs[0].name, "x");
  }
  const EndpointDescription d = split_->Describe();
  EXPECT_TRUE(d.ready) << d.reason;
  EXPECT_EQ(d.versions, (std::vector<int64_t>{1, 7}));
}

TEST_F(SplitEndpointArmTest, TheForcingHeaderStopsAtTheSplitAndReadinessFollowsTheEndpoint) {
  Serve(WithEndpointArm());
  auto forced = core_->Infer(Request(3, {{"x-strata-arm", "table"}, {"x-other", "kept"}}));
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_EQ(Param(*forced, "arm"), "table");
  {
    std::lock_guard<std::mutex> lock(table_->mutex_);
    ASSERT_EQ(table_->calls.size(), 1u);
    ASSERT_EQ(table_->calls[0].headers.size(), 1u);
    EXPECT_EQ(table_->calls[0].headers[0].first, "x-other");
  }
  table_->ready = false;
  const EndpointDescription d = split_->Describe();
  EXPECT_FALSE(d.ready);
  EXPECT_NE(d.reason.find("arm 'table': endpoint 'lookup': table 'lookup' has no version yet"),
            std::string::npos)
      << d.reason;
}

TEST_F(SplitEndpointArmTest, AnArmNamingAnEndpointTheSplitWasNotGivenIsRefused) {
  SplitEndpointConfig config = WithEndpointArm();
  config.endpoints.clear();
  auto created = SplitEndpoint::Create(config);
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(created.status().message().find("arm 'table' names the endpoint 'lookup'"),
            std::string_view::npos);
  Serve(WithEndpointArm());
  EXPECT_EQ(
      split_->SetArms({{.name = "x", .model = "", .version = "", .weight = 1, .endpoint = "nope"}})
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(split_->routing()->arms.size(), 2u);
}

}  // namespace
}  // namespace strata::serving
