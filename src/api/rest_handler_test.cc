#include "api/rest_handler.h"

#include "api/control_json.h"
#include "gtest/gtest.h"
#include "serving/testing/fake_repository.h"

namespace strata::api {
namespace {

class RestHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::path(::testing::TempDir()) / "rest_handler_test";
    serving::testing::MakeFakeRepository(root_);
    auto core = serving::ServerCore::Create({.repository = root_}, backends_);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = *std::move(core);
    handler_ = std::make_unique<RestHandler>(*core_);
  }

  HttpReply Get(std::string_view target) {
    return handler_->HandleForTest({"GET", target, "", "", ""});
  }
  HttpReply Post(std::string_view target, std::string_view body) {
    return handler_->HandleForTest({"POST", target, body, "", ""});
  }

  std::filesystem::path root_;
  runtime::BackendRegistry backends_ = serving::testing::FakeBackends();
  std::unique_ptr<serving::ServerCore> core_;
  std::unique_ptr<RestHandler> handler_;
};

TEST_F(RestHandlerTest, SplitPathDecodesAndDropsQuery) {
  EXPECT_EQ(SplitPath("/v2/models/a%20b/ready?x=1"),
            (std::vector<std::string>{"v2", "models", "a b", "ready"}));
  EXPECT_EQ(SplitPath("/v2/"), (std::vector<std::string>{"v2"}));
}

TEST_F(RestHandlerTest, Health) {
  EXPECT_EQ(Get("/v2/health/live").body, R"({"live":true})");
  EXPECT_EQ(Get("/v2/health/live").status, 200);
}

// The fake repository holds broken models: a readiness probe must not send
// traffic here, and the body says which model is not ready.
TEST_F(RestHandlerTest, ServerIsNotReadyWhileAModelIsNot) {
  HttpReply ready = Get("/v2/health/ready?test=1");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find(R"("ready":false)"), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find(R"("error":"model ')"), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find("is not ready"), std::string::npos) << ready.body;
}

TEST_F(RestHandlerTest, LenientReadinessIsReadyOnceStarted) {
  auto core =
      serving::ServerCore::Create({.repository = root_, .lenient_readiness = true}, backends_);
  ASSERT_TRUE(core.ok()) << core.status();
  RestHandler handler(**core);
  HttpReply ready = handler.HandleForTest({"GET", "/v2/health/ready", "", "", ""});
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, R"({"ready":true})");
}

TEST_F(RestHandlerTest, ServerMetadata) {
  HttpReply reply = Get("/v2");
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.body.find(R"("name":"strata")"), std::string::npos);
}

TEST_F(RestHandlerTest, ModelMetadataAndReady) {
  HttpReply meta = Get("/v2/models/good");
  EXPECT_EQ(meta.status, 200);
  EXPECT_NE(meta.body.find(R"("versions":["10"])"), std::string::npos) << meta.body;
  EXPECT_NE(meta.body.find(R"("inputs":[{"name":"x","datatype":"FP32","shape":[-1,2]}])"),
            std::string::npos);
  EXPECT_EQ(Get("/v2/models/good/versions/10").status, 200);
  EXPECT_EQ(Get("/v2/models/good/ready").body, R"({"name":"good","ready":true})");
  EXPECT_EQ(Get("/v2/models/good/versions/10/ready").status, 200);
  EXPECT_EQ(Get("/v2/models/good/versions/2/ready").status, 404);
}

TEST_F(RestHandlerTest, BrokenModelIsNotReadyWithReason) {
  HttpReply ready = Get("/v2/models/corrupt/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find(R"("ready":false)"), std::string::npos);
  EXPECT_NE(ready.body.find("artifact is corrupt"), std::string::npos);
  // Every failing answer carries "error", as the 404 on this route does.
  EXPECT_NE(ready.body.find(R"("error":"model 'corrupt' is not ready: )"), std::string::npos)
      << ready.body;
  HttpReply meta = Get("/v2/models/corrupt");
  EXPECT_EQ(meta.status, 200);
  EXPECT_NE(meta.body.find(R"("state":"UNAVAILABLE")"), std::string::npos);
  HttpReply infer =
      Post("/v2/models/corrupt/infer",
           R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1,2]}]})");
  EXPECT_EQ(infer.status, 503);
}

TEST_F(RestHandlerTest, InferEchoesIdAndNamesVersion) {
  HttpReply reply =
      Post("/v2/models/good/infer",
           R"({"id":"q","inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[[1,2]]}]})");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"({"model_name":"good","model_version":"10","id":"q","outputs":[)"
                        R"({"name":"y","datatype":"FP32","shape":[1,2],"data":[2.0,4.0]}]})");
}

TEST_F(RestHandlerTest, AnEmptyIdIsEchoed) {
  HttpReply reply =
      Post("/v2/models/good/infer",
           R"({"id":"","inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1,2]}]})");
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.body.find(R"("model_version":"10","id":"","outputs")"), std::string::npos)
      << reply.body;
  reply = Post("/v2/models/good/infer",
               R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1,2]}]})");
  EXPECT_EQ(reply.body.find(R"("id")"), std::string::npos) << reply.body;
}

TEST_F(RestHandlerTest, ClassificationAnswersTopClasses) {
  HttpReply reply =
      Post("/v2/models/good/infer",
           R"({"inputs":[{"name":"x","datatype":"FP32","shape":[2,2],"data":[1,2,4,3]}],)"
           R"("outputs":[{"name":"y","parameters":{"classification":1}}]})");
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.body.find(R"({"name":"y","datatype":"BYTES","shape":[2,1],)"
                            R"("data":["4.000000:1","8.000000:0"]})"),
            std::string::npos)
      << reply.body;
}

class RestControlTest : public RestHandlerTest {
 protected:
  void SetUp() override {
    RestHandlerTest::SetUp();
    handler_ = std::make_unique<RestHandler>(*core_, RestHandlerOptions{.control_api = true});
  }
};

// Triton's load(config=...) or files=... is refused, never answered 200
// for something not done; so is a body that is not JSON.
TEST_F(RestControlTest, LoadRefusesWhatItCannotDo) {
  HttpReply config = Post("/v2/repository/models/good/load",
                          R"({"parameters":{"config":"{\"max_batch_size\":8}"}})");
  EXPECT_EQ(config.status, 400);
  EXPECT_NE(config.body.find("parameter 'config' is not supported"), std::string::npos)
      << config.body;
  HttpReply file =
      Post("/v2/repository/models/good/load", R"({"parameters":{"file:1/model.pt":"AAAA"}})");
  EXPECT_EQ(file.status, 400);
  EXPECT_NE(file.body.find("'file:1/model.pt'"), std::string::npos) << file.body;
  HttpReply garbage = Post("/v2/repository/models/good/load", "not json");
  EXPECT_EQ(garbage.status, 400);
  EXPECT_NE(garbage.body.find("malformed JSON"), std::string::npos) << garbage.body;
  EXPECT_EQ(Post("/v2/repository/models/good/load", R"({"other":1})").status, 400);
  EXPECT_EQ(Post("/v2/repository/models/good/load", "{}").status, 200);
  EXPECT_EQ(Post("/v2/repository/models/good/load", "").status, 200);
}

// A refused body is answered 400 (it used to call an emptied reply
// callback: bad_function_call, which ends the server's I/O thread).
TEST_F(RestControlTest, RefusedBodiesAreAnswered) {
  HttpReply bad = Post("/v2/repository/models/good/default", "not json");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("malformed JSON"), std::string::npos) << bad.body;
  EXPECT_EQ(Post("/v2/repository/models/good/labels", R"({"version": 1})").status, 400);
}

// tritonclient.http's unload_model() sends {"parameters": {"unload_dependents": false}}.
TEST_F(RestControlTest, UnloadTakesUnloadDependents) {
  EXPECT_EQ(
      Post("/v2/repository/models/good/unload", R"({"parameters":{"unload_dependents":false}})")
          .status,
      200);
  EXPECT_EQ(Post("/v2/repository/models/good/load", "{}").status, 200);
  HttpReply bad =
      Post("/v2/repository/models/good/unload", R"({"parameters":{"unload_dependents":"yes"}})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("'unload_dependents' must be true or false"), std::string::npos);
}

TEST_F(RestHandlerTest, ErrorsHaveTheRightStatus) {
  const std::string ok_body =
      R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1,2]}]})";
  HttpReply unknown = Post("/v2/models/nope/infer", ok_body);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, R"({"error":"Request for unknown model: 'nope' is not found"})");
  EXPECT_EQ(Post("/v2/models/good/versions/7/infer", ok_body).status, 404);
  EXPECT_EQ(Post("/v2/models/good/infer", "{not json").status, 400);
  EXPECT_EQ(Post("/v2/models/good/infer",
                 R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1,3],"data":[1,2,3]}]})")
                .status,
            400);
  EXPECT_EQ(
      Post(
          "/v2/models/good/infer",
          R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1,2]}],"outputs":[{"name":"z"}]})")
          .status,
      400);
  EXPECT_EQ(Get("/v2/models/good/infer").status, 405);
  EXPECT_EQ(Get("/v1/models").status, 404);
  EXPECT_EQ(Get("/v2/models/good/bogus").status, 404);
  // A body that says gzip but is not: 400, never a silent misread.
  EXPECT_EQ(handler_->HandleForTest({"POST", "/v2/models/good/infer", ok_body, "gzip", ""}).status,
            400);
  EXPECT_EQ(handler_->HandleForTest({"POST", "/v2/models/good/infer", ok_body, "br", ""}).status,
            415);
  EXPECT_EQ(handler_->HandleForTest({"POST", "/v2/models/good/infer", ok_body, "", "10"}).status,
            400);
}

TEST(CheckControlNameTest, RefusesNamesThatCouldLeaveTheRepository) {
  for (const char* good : {"adder", "breast_cancer_xgb", "scores.v2", "a-b"}) {
    EXPECT_TRUE(CheckControlName(good).ok()) << good;
  }
  for (std::string_view bad :
       {std::string_view(""), std::string_view("."), std::string_view(".."),
        std::string_view("../etc"), std::string_view("/etc/passwd"), std::string_view("a/../b"),
        std::string_view("..\\x"), std::string_view("a\0b", 3), std::string_view(".hidden")}) {
    EXPECT_EQ(CheckControlName(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(SplitPathTest, PercentEncodedTricksDecodeToNamesTheCheckRefuses) {
  const std::vector<std::string> segments = SplitPath("/v2/repository/models/%2e%2e%2fetc/load");
  ASSERT_EQ(segments.size(), 5u);
  EXPECT_EQ(segments[3], "../etc");
  EXPECT_FALSE(CheckControlName(segments[3]).ok());
}

}  // namespace
}  // namespace strata::api
