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

}  // namespace
}  // namespace strata::serving
