#include "serving/endpoint_config.h"

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

TEST(EndpointConfigTest, ParsesStaticEndpointsWithDefaults) {
  auto configs = ParseEndpointConfigs(R"(
endpoints:
  sales_forecast: {plan: static, store: redis, key: [store_id, product_id, date],
                   default: 0.01, on_store_error: unavailable}
  scores: {table: scores_v2}
)");
  ASSERT_TRUE(configs.ok()) << configs.status();
  ASSERT_EQ(configs->size(), 2u);
  const EndpointConfig& sales = (*configs)[0];
  EXPECT_EQ(sales.name, "sales_forecast");
  EXPECT_EQ(sales.table, "sales_forecast");
  EXPECT_EQ(sales.store, "redis");
  EXPECT_EQ(sales.key, (std::vector<std::string>{"store_id", "product_id", "date"}));
  EXPECT_DOUBLE_EQ(sales.default_value, 0.01);
  EXPECT_FALSE(sales.default_when_unavailable);
  const EndpointConfig& scores = (*configs)[1];
  EXPECT_EQ(scores.plan, PlanKind::kStatic);
  EXPECT_EQ(scores.table, "scores_v2");
  EXPECT_EQ(scores.store, "rocksdb");
  EXPECT_TRUE(scores.default_when_unavailable);
}

TEST(EndpointConfigTest, ParsesHybridEndpoints) {
  auto configs = ParseEndpointConfigs(
      "endpoints:\n"
      "  scores:\n"
      "    plan: hybrid\n"
      "    table: head\n"
      "    key: [id]\n"
      "    model: m\n"
      "    cache: {max_bytes: 2MiB, ttl_s: 1.5}\n");
  ASSERT_TRUE(configs.ok()) << configs.status();
  ASSERT_EQ(configs->size(), 1u);
  const EndpointConfig& c = (*configs)[0];
  EXPECT_EQ(c.plan, PlanKind::kHybrid);
  EXPECT_EQ(c.table, "head");
  EXPECT_EQ(c.model, "m");
  EXPECT_EQ(c.cache_max_bytes, 2u << 20);
  EXPECT_DOUBLE_EQ(c.cache_ttl_s, 1.5);
  auto defaults = ParseEndpointConfigs("endpoints: {s: {plan: hybrid, model: m, key: [id]}}");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ((*defaults)[0].cache_max_bytes, 64u << 20);
  EXPECT_EQ((*defaults)[0].table, "s");
}

TEST(EndpointConfigTest, ParsesDynamicEndpointsAndTableInMemory) {
  auto configs = ParseEndpointConfigs(R"(
endpoints:
  plain: {plan: dynamic, model: m}
  cached: {plan: dynamic, model: m, cache: {max_bytes: 1MiB}}
  cached_default: {plan: dynamic, model: m, key: [id], cache: {ttl_s: 5}}
  small: {plan: static, table_in_memory: 0}
)");
  ASSERT_TRUE(configs.ok()) << configs.status();
  EXPECT_EQ((*configs)[0].plan, PlanKind::kDynamic);
  EXPECT_EQ((*configs)[0].cache_max_bytes, 0u);  // no cache unless asked for
  EXPECT_EQ((*configs)[0].table, "");
  EXPECT_EQ((*configs)[1].cache_max_bytes, 1u << 20);
  EXPECT_EQ((*configs)[2].cache_max_bytes, 64u << 20);
  EXPECT_EQ((*configs)[2].key, std::vector<std::string>{"id"});
  EXPECT_EQ((*configs)[3].table_in_memory_bytes, 0u);
  EXPECT_EQ((*configs)[0].table_in_memory_bytes, 64u << 20);
}

TEST(EndpointConfigTest, MistakesNameTheEndpointAndTheKey) {
  auto bad = [](const char* yaml) {
    auto r = ParseEndpointConfigs(yaml);
    EXPECT_FALSE(r.ok());
    return std::string(r.status().message());
  };
  {
    EXPECT_NE(bad("endpoints: {a: {plan: cascade}}").find("endpoint 'a': plan 'cascade'"),
              std::string::npos);
    EXPECT_NE(bad("endpoints: {a: {plan: dynamic}}").find("plan dynamic needs model"),
              std::string::npos);
    EXPECT_NE(bad("endpoints: {a: {plan: dynamic, model: m, table: t}}").find("has no table"),
              std::string::npos);
    EXPECT_NE(bad("endpoints: {a: {table_in_memory: lots}}").find("table_in_memory must be"),
              std::string::npos);
    EXPECT_NE(bad("endpoints: {a: {plan: hybrid}}").find("plan hybrid needs model and key"),
              std::string::npos);
    EXPECT_NE(bad("endpoints: {a: {model: m}}").find("belong to plans hybrid and dynamic"),
              std::string::npos);
    EXPECT_NE(bad("endpoints: {a: {plan: hybrid, model: m, key: [k], cache: {max_bytes: "
                  "lots}}}")
                  .find("max_bytes"),
              std::string::npos);
    EXPECT_NE(bad("endpoints: {a: {plan: hybrid, model: m, key: [k], cache: {size: 1}}}")
                  .find("unknown cache key 'size'"),
              std::string::npos);
    EXPECT_NE(bad("endpoints: {a: {tabel: x}}").find("unknown key 'tabel'"), std::string::npos);
    EXPECT_NE(bad("endpoints: {a: {store: s3}}").find("store 's3'"), std::string::npos);
    EXPECT_NE(bad("endpoints: {a: {default: high}}").find("endpoint 'a'"), std::string::npos);
    EXPECT_NE(bad("endpoints: {a: {on_store_error: retry}}").find("on_store_error 'retry'"),
              std::string::npos);
    EXPECT_NE(bad("models: {}").find("unknown top-level key 'models'"), std::string::npos);
  }
  EXPECT_TRUE(ParseEndpointConfigs("").ok());
}

TEST(EndpointConfigTest, ParsesSplitEndpoints) {
  auto configs = ParseEndpointConfigs(R"(
endpoints:
  checkout:
    plan: split
    sticky_header: X-User-Id
    arms:
      - {name: stable, model: ranker, version: 1, weight: 90}
      - {name: canary, model: ranker, label: canary, weight: 10}
  random:
    plan: split
    sticky_key: user_id
    salt: s1
    arms: [{name: only, model: m, weight: 1}]
)");
  ASSERT_TRUE(configs.ok()) << configs.status();
  const EndpointConfig& c = (*configs)[0];
  EXPECT_EQ(c.plan, PlanKind::kSplit);
  EXPECT_EQ(c.sticky_header, "x-user-id");
  EXPECT_EQ(c.salt, "checkout");
  ASSERT_EQ(c.arms.size(), 2u);
  EXPECT_EQ(c.arms[0].name, "stable");
  EXPECT_EQ(c.arms[0].version, "1");
  EXPECT_EQ(c.arms[1].version, "canary");
  EXPECT_EQ(c.arms[1].weight, 10);
  EXPECT_EQ((*configs)[1].sticky_key, "user_id");
  EXPECT_EQ((*configs)[1].salt, "s1");
  EXPECT_EQ((*configs)[1].arms[0].version, "");
}

TEST(EndpointConfigTest, SplitMistakesAreClear) {
  auto bad = [](const std::string& arms, const std::string& extra = "") {
    auto r = ParseEndpointConfigs("endpoints: {s: {plan: split" + extra + ", arms: " + arms + "}}");
    EXPECT_FALSE(r.ok());
    return std::string(r.status().message());
  };
  auto has = [](const std::string& text, const char* part) {
    EXPECT_NE(text.find(part), std::string::npos) << text;
  };
  has(bad("[{name: a, model: m, weight: -1}]"), "weights must be >= 0");
  has(bad("[{name: a, model: m, weight: 0}]"), "sum to more than 0");
  has(bad("[{name: a, model: m, weight: 1}, {name: a, model: n, weight: 1}]"),
      "arm name 'a' is used twice");
  has(bad("[{name: a, weight: 1}]"), "needs name, weight and a model or an endpoint");
  has(bad("[{name: a, model: m, endpoint: e, weight: 1}]"), "model or endpoint, not both");
  has(bad("[{name: a, endpoint: e, version: 2, weight: 1}]"), "takes no version or label");
  has(bad("[{name: a, model: m, weight: 1, version: 1, label: x}]"), "version or label");
  has(bad("[{name: a, model: m, weight: 1, colour: red}]"), "unknown key 'colour'");
  has(bad("[]"), "plan split needs arms");
  has(bad("[{name: a, model: m, weight: 1}]", ", table: t"), "does not belong to plan split");
  has(bad("[{name: a, model: m, weight: 1}]", ", sticky_key: k, sticky_header: x-u"), "not both");
  has(bad("[{name: a, model: m, weight: 1}]", ", sticky_header: cookie"), "starting with x-");
  has(bad("[{name: a, model: m, weight: heavy}]"), "endpoint 's'");
}

TEST(EndpointConfigTest, AnArmMayBeAnotherEndpointBuiltBeforeTheSplit) {
  auto configs = ParseEndpointConfigs(R"(
endpoints:
  ab:
    plan: split
    sticky_header: x-user-id
    arms:
      - {name: model, model: ranker, weight: 50}
      - {name: table, endpoint: lookup, weight: 50}
  lookup: {plan: static, key: [user_id]}
)");
  ASSERT_TRUE(configs.ok()) << configs.status();
  ASSERT_EQ(configs->size(), 2u);
  EXPECT_EQ((*configs)[0].name, "lookup");  // built first: the split's arm
  const EndpointConfig& ab = (*configs)[1];
  EXPECT_EQ(ab.arms[1].endpoint, "lookup");
  EXPECT_EQ(ab.arms[1].model, "");
  EXPECT_EQ(ab.arms[0].endpoint, "");
}

TEST(EndpointConfigTest, UnknownArmEndpointsAndCyclesAreRefusedAtLoad) {
  auto message = [](const std::string& yaml) {
    auto r = ParseEndpointConfigs(yaml);
    EXPECT_FALSE(r.ok());
    return std::string(r.status().message());
  };
  EXPECT_EQ(message("endpoints: {a: {plan: split, arms: [{name: x, endpoint: nope, weight: 1}]}}"),
            "endpoint 'a': arm 'x' names the endpoint 'nope', which the file does not declare");
  EXPECT_EQ(message("endpoints: {a: {plan: split, arms: [{name: x, endpoint: a, weight: 1}]}}"),
            "endpoint 'a': its arms lead back to it: a -> a; a split cannot route to itself");
  EXPECT_EQ(message(R"(
endpoints:
  a: {plan: split, arms: [{name: x, model: m, weight: 1}, {name: y, endpoint: b, weight: 1}]}
  b: {plan: split, arms: [{name: x, endpoint: c, weight: 1}]}
  c: {plan: split, arms: [{name: x, endpoint: a, weight: 1}]}
)"),
            "endpoint 'a': its arms lead back to it: a -> b -> c -> a; a split cannot route to "
            "itself");
}

TEST(EndpointConfigTest, ASplitRoutesByWeightsOrByThompsonSamplingWithAFloor) {
  auto configs = ParseEndpointConfigs(R"(
endpoints:
  bandit:
    plan: split
    policy: thompson
    min_share: 0.2
    arms: [{name: a, model: m, weight: 1}, {name: b, model: m, weight: 1}]
  plain: {plan: split, arms: [{name: a, model: m, weight: 1}]}
)");
  ASSERT_TRUE(configs.ok()) << configs.status();
  EXPECT_EQ((*configs)[0].split_policy, SplitPolicy::kThompson);
  EXPECT_EQ((*configs)[0].min_share, 0.2);
  EXPECT_EQ((*configs)[1].split_policy, SplitPolicy::kWeights);
  auto bad = [](const std::string& extra) {
    auto r = ParseEndpointConfigs("endpoints: {s: {plan: split" + extra +
                                  ", arms: [{name: a, model: m, weight: 1}, "
                                  "{name: b, model: m, weight: 1}]}}");
    EXPECT_FALSE(r.ok());
    return std::string(r.status().message());
  };
  EXPECT_NE(bad(", policy: greedy").find("policy 'greedy' is not weights or thompson"),
            std::string::npos);
  EXPECT_NE(bad(", policy: thompson, min_share: 0.6").find("min_share 0.6 must be in [0, 1 / 2"),
            std::string::npos);
  EXPECT_NE(bad(", min_share: 0.1").find("min_share belongs to policy: thompson"),
            std::string::npos);
  EXPECT_NE(bad(", policy: thompson, feedback: false").find("needs feedback on"),
            std::string::npos);
}

}  // namespace
}  // namespace strata::serving
