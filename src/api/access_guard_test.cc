#include "api/access_guard.h"

#include <filesystem>
#include <fstream>

#include "api/auth/secret_hash.h"
#include "api/rest_handler.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"
#include "serving/testing/fake_repository.h"

namespace strata::api {
namespace {

std::string Entry(const std::string& id, const std::string& tenant, const std::string& scopes,
                  const std::string& models) {
  return fmt::format("  - {{id: {}, tenant: {}, secret_sha256: {}, scopes: [{}], models: [{}]}}\n",
                     id, tenant, auth::DigestHex(auth::Sha256("sk_" + id)), scopes, models);
}

std::string KeysText() {
  return "keys:\n" + Entry("reader", "shop", "infer, metadata", "good") +
         Entry("ops", "ops", "metrics, control, metadata", "\"*\"") +
         "tenants:\n  shop: {rows_per_second: 0, burst: 3}\n";
}

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  std::ofstream(temporary) << text;
  std::filesystem::rename(temporary, path);
}

class AccessGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::path(::testing::TempDir()) / "access_guard_test";
    serving::testing::MakeFakeRepository(root_ / "repository");
    keys_ = root_ / "keys.yaml";
    WriteFile(keys_, KeysText());
    auto guard = AccessGuard::Open(
        {.keys_file = keys_.string(), .reload_interval = std::chrono::milliseconds(0)});
    ASSERT_TRUE(guard.ok()) << guard.status();
    guard_ = *std::move(guard);
    auto core = serving::ServerCore::Create({.repository = root_ / "repository"}, backends_);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = *std::move(core);
  }

  HttpReply Call(const RestHandler& handler, std::string_view method, std::string_view target,
                 std::string_view authorization, std::string_view body = "") {
    HttpRequestView view{method, target, body, "", ""};
    view.authorization = authorization;
    return handler.HandleForTest(view);
  }

  std::string Metrics() const { return prometheus::TextSerializer().Serialize(guard_->Collect()); }

  std::filesystem::path root_, keys_;
  std::unique_ptr<AccessGuard> guard_;
  runtime::BackendRegistry backends_ = serving::testing::FakeBackends();
  std::unique_ptr<serving::ServerCore> core_;
};

TEST_F(AccessGuardTest, AuthorizesAndCountsRefusalsByReason) {
  EXPECT_TRUE(guard_->Authorize("Bearer sk_reader", auth::Scope::kInfer, "good").allowed());
  EXPECT_EQ(guard_->Authorize("", auth::Scope::kInfer, "good").http_status(), 401);
  EXPECT_EQ(guard_->Authorize("Bearer sk_reader", auth::Scope::kInfer, "other").http_status(), 403);
  const std::string metrics = Metrics();
  EXPECT_NE(metrics.find(R"(strata_auth_failures_total{reason="missing"} 1)"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(R"(strata_auth_failures_total{reason="model"} 1)"), std::string::npos);
  EXPECT_NE(metrics.find("strata_auth_keys 2"), std::string::npos);
}

TEST_F(AccessGuardTest, ReloadsAChangedFileAndKeepsTheKeysOfABrokenOne) {
  EXPECT_FALSE(guard_->ReloadIfChanged());
  WriteFile(keys_, "keys:\n" + Entry("new", "t", "infer", "\"*\""));
  EXPECT_TRUE(guard_->ReloadIfChanged());
  EXPECT_TRUE(guard_->Authorize("Bearer sk_new", auth::Scope::kInfer, "x").allowed());
  EXPECT_FALSE(guard_->Authorize("Bearer sk_reader", auth::Scope::kInfer, "good").allowed());
  WriteFile(keys_, "keys: [\n");
  EXPECT_FALSE(guard_->ReloadIfChanged());
  EXPECT_TRUE(guard_->Authorize("Bearer sk_new", auth::Scope::kInfer, "x").allowed());
  EXPECT_NE(Metrics().find(R"(strata_auth_keys_reloads_total{result="error"} 1)"),
            std::string::npos);
}

// Regression: a token the guard has matched before (auth/key_lookup.h) is
// forgotten with the keys file that held it.
TEST_F(AccessGuardTest, AReloadRevokesAKeyUsedJustBefore) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(guard_->Authorize("Bearer sk_reader", auth::Scope::kInfer, "good").allowed());
  }
  WriteFile(keys_, "keys:\n" + Entry("ops", "ops", "metrics, control, metadata", "\"*\""));
  ASSERT_TRUE(guard_->ReloadIfChanged());
  const auth::AuthDecision revoked =
      guard_->Authorize("Bearer sk_reader", auth::Scope::kInfer, "good");
  EXPECT_EQ(revoked.outcome, auth::AuthOutcome::kUnknownKey);
  EXPECT_EQ(revoked.http_status(), 401);
  EXPECT_TRUE(guard_->Authorize("Bearer sk_ops", auth::Scope::kMetrics, std::nullopt).allowed());
}

TEST_F(AccessGuardTest, ChargesRowsAndSaysWhenToRetry) {
  const RateCharge first = guard_->Charge({"shop", "k"}, 3);
  EXPECT_TRUE(first.admitted);
  EXPECT_TRUE(first.limited);
  const RateCharge second = guard_->Charge({"shop", "k"}, 1);
  EXPECT_FALSE(second.admitted);
  const auto headers = second.Headers();
  EXPECT_EQ(headers.at(0), (std::pair<std::string, std::string>{"X-RateLimit-Limit", "3"}));
  EXPECT_EQ(headers.at(1), (std::pair<std::string, std::string>{"X-RateLimit-Remaining", "0"}));
  EXPECT_EQ(headers.back().first, "Retry-After");
  EXPECT_TRUE(guard_->Charge({"ops", "k"}, 1'000'000).admitted);  // no limit
  EXPECT_TRUE(guard_->Charge({"ops", "k"}, 1).Headers().empty());
  EXPECT_NE(Metrics().find(R"(strata_tenant_rows_total{tenant="shop"} 3)"), std::string::npos);
}

TEST_F(AccessGuardTest, TheHandlerChecksEveryRouteButHealth) {
  RestHandler handler(*core_, {.control_api = true, .guard = guard_.get()});
  EXPECT_EQ(Call(handler, "GET", "/v2/health/live", "").status, 200);
  EXPECT_EQ(Call(handler, "GET", "/v2/models/good", "").status, 401);
  EXPECT_EQ(Call(handler, "GET", "/v2/models/good", "Bearer sk_reader").status, 200);
  EXPECT_EQ(Call(handler, "GET", "/v2/models/%67ood//", "Bearer sk_reader").status, 200);
  EXPECT_EQ(Call(handler, "GET", "/metrics", "Bearer sk_reader").status, 403);
  EXPECT_EQ(Call(handler, "GET", "/metrics", "Bearer sk_ops").status, 200);
  // No route has a dot segment or an encoded '/' or NUL: refused before any check.
  EXPECT_EQ(Call(handler, "GET", "/v2/models/good/../corrupt", "Bearer sk_reader").status, 400);
  EXPECT_EQ(Call(handler, "GET", "/v2/models/good/%2e%2e/corrupt", "").status, 400);
  EXPECT_EQ(Call(handler, "GET", "/v2/models/good%2Fx", "Bearer sk_reader").status, 400);
  EXPECT_EQ(Call(handler, "GET", "/v2/models/good%00", "Bearer sk_reader").status, 400);
  EXPECT_EQ(Call(handler, "GET", "/v2/health/live/..", "").status, 400);
  EXPECT_EQ(Call(handler, "GET", "/v2/models/corrupt", "Bearer sk_reader").status, 403);
  EXPECT_EQ(Call(handler, "POST", "/v2/repository/index", "Bearer sk_reader", "{}").status, 403);
  const std::string body =
      R"({"inputs":[{"name":"x","datatype":"FP32","shape":[2,2],"data":[1,2,3,4]}]})";
  const HttpReply admitted =
      Call(handler, "POST", "/v2/models/good/infer", "Bearer sk_reader", body);
  EXPECT_EQ(admitted.status, 200) << admitted.body;
  const HttpReply limited =
      Call(handler, "POST", "/v2/models/good/infer", "Bearer sk_reader", body);
  EXPECT_EQ(limited.status, 429) << limited.body;
}

TEST_F(AccessGuardTest, TheAdminListenerServesOnlyAdminRoutesAndHealth) {
  RestHandler main(*core_, {.control_api = true, .listener = RestListener::kPublic});
  RestHandler admin(*core_, {.control_api = true, .listener = RestListener::kAdmin});
  EXPECT_EQ(Call(main, "GET", "/metrics", "").status, 404);
  EXPECT_EQ(Call(main, "GET", "/", "").status, 404);
  EXPECT_EQ(Call(main, "POST", "/v2/repository/index", "", "{}").status, 404);
  EXPECT_EQ(Call(main, "GET", "/v2/models/good", "").status, 200);
  EXPECT_EQ(Call(admin, "GET", "/metrics", "").status, 200);
  EXPECT_EQ(Call(admin, "POST", "/v2/repository/index", "", "{}").status, 200);
  EXPECT_EQ(Call(admin, "GET", "/v2/models/good", "").status, 404);
  EXPECT_EQ(Call(admin, "GET", "/v2/health/live", "").status, 200);
}

}  // namespace
}  // namespace strata::api
