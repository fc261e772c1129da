#include "api/auth/route_access.h"

#include "gtest/gtest.h"

namespace strata::api::auth {
namespace {

using Segments = std::vector<std::string>;

TEST(RestRouteAccessTest, OnlyTheHealthProbesAreOpen) {
  EXPECT_TRUE(RestRouteAccess({"v2", "health", "live"}).open);
  EXPECT_TRUE(RestRouteAccess({"v2", "health", "ready"}).open);
  for (const Segments& s :
       {Segments{"v2", "health"}, Segments{"v2", "health", "live", "x"},
        Segments{"v2", "health", "other"}, Segments{"v2", "health", ".."}, Segments{"v2"},
        Segments{}, Segments{"metrics"}, Segments{"v2", "models", "health", "live"}}) {
    EXPECT_FALSE(RestRouteAccess(s).open) << s.size();
  }
}

TEST(RestRouteAccessTest, InferNeedsTheInferScopeOnItsModel) {
  const RouteAccess a = RestRouteAccess({"v2", "models", "m1", "infer"});
  EXPECT_EQ(a.scope, Scope::kInfer);
  EXPECT_EQ(a.model, "m1");
  const RouteAccess v = RestRouteAccess({"v2", "models", "m1", "versions", "3", "infer"});
  EXPECT_EQ(v.scope, Scope::kInfer);
  EXPECT_EQ(v.model, "m1");
}

// Feedback comes from the callers that infer; the experiment report is metadata.
TEST(RestRouteAccessTest, FeedbackNeedsInferAndTheReportMetadata) {
  const RouteAccess f = RestRouteAccess({"v2", "models", "ab", "feedback"});
  EXPECT_EQ(f.scope, Scope::kInfer);
  EXPECT_EQ(f.model, "ab");
  const RouteAccess r = RestRouteAccess({"v2", "models", "ab", "experiment"});
  EXPECT_EQ(r.scope, Scope::kMetadata);
  EXPECT_EQ(r.model, "ab");
}

TEST(RestRouteAccessTest, MetadataRoutesNeedTheMetadataScope) {
  for (const Segments& s :
       {Segments{"v2", "models", "m1"}, Segments{"v2", "models", "m1", "ready"},
        Segments{"v2", "models", "m1", "config"},
        Segments{"v2", "models", "m1", "versions", "infer"},
        Segments{"v2", "models", "m1", "infer", "x"}, Segments{"v2", "advisor", "m1"}}) {
    const RouteAccess a = RestRouteAccess(s);
    EXPECT_EQ(a.scope, Scope::kMetadata) << s.back();
    EXPECT_EQ(a.model, "m1") << s.back();
  }
  EXPECT_EQ(RestRouteAccess({"v2", "models", "stats"}).model, "*");
  EXPECT_EQ(RestRouteAccess({"v2", "advisor"}).model, "*");
  EXPECT_EQ(RestRouteAccess({"v2"}).model, std::nullopt);
}

TEST(RestRouteAccessTest, ControlAndMetricsHaveTheirScopes) {
  const RouteAccess load = RestRouteAccess({"v2", "repository", "models", "m1", "load"});
  EXPECT_EQ(load.scope, Scope::kControl);
  EXPECT_EQ(load.model, "m1");
  EXPECT_EQ(RestRouteAccess({"v2", "repository", "index"}).model, "*");
  // Tables are not models: their control needs a key for every model.
  const RouteAccess table = RestRouteAccess({"v2", "repository", "tables", "t1", "load"});
  EXPECT_EQ(table.scope, Scope::kControl);
  EXPECT_EQ(table.model, "*");
  EXPECT_EQ(RestRouteAccess({"metrics"}).scope, Scope::kMetrics);
  EXPECT_EQ(RestRouteAccess({}).scope, Scope::kMetrics);
}

TEST(RestRouteAccessTest, UnknownPathsNeedMetadataOnEveryModel) {
  for (const Segments& s : {Segments{"v3"}, Segments{"v2", "nothing"}, Segments{"..", "v2"}}) {
    const RouteAccess a = RestRouteAccess(s);
    EXPECT_FALSE(a.open);
    EXPECT_EQ(a.model, "*");
  }
}

TEST(ParseModelPathTest, ReadsModelVersionAndAction) {
  const ModelPath p = ParseModelPath({"v2", "models", "m", "versions", "2", "ready"});
  EXPECT_EQ(p.model, "m");
  EXPECT_EQ(p.version, "2");
  EXPECT_EQ(p.action, "ready");
  EXPECT_TRUE(p.valid);
  EXPECT_FALSE(ParseModelPath({"v2", "models", "m", "infer", "more"}).valid);
}

}  // namespace
}  // namespace strata::api::auth
