#include "features/feature_definition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

namespace strata::features {
namespace {

using ::testing::HasSubstr;

std::string ExampleYaml() {
  const char* source = std::getenv("STRATA_SOURCE_DIR");
  std::ifstream in(std::string(source ? source : ".") +
                   "/src/features/testdata/example_features.yaml");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The example with `from` replaced by `replacement` (first occurrence).
std::string ExampleWith(std::string_view from, std::string_view replacement) {
  std::string yaml = ExampleYaml();
  const size_t at = yaml.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) yaml.replace(at, from.size(), replacement);
  return yaml;
}

void ExpectInvalid(const std::string& yaml, std::string_view message) {
  auto definition = ParseFeatureDefinition(yaml);
  ASSERT_FALSE(definition.ok()) << message;
  EXPECT_EQ(definition.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(definition.status().message()), HasSubstr(std::string(message)));
}

TEST(FeatureDefinitionTest, ParsesTheDocumentedExample) {
  auto definition = ParseFeatureDefinition(ExampleYaml());
  ASSERT_TRUE(definition.ok()) << definition.status();
  ASSERT_EQ(definition->entities.size(), 2u);
  EXPECT_EQ(definition->entities[0].name, "user");
  EXPECT_EQ(definition->entities[0].keys[0].name, "user_id");
  EXPECT_EQ(definition->entities[0].keys[0].type, ValueType::kInt64);
  const FeatureTable* stats = definition->FindTable("user_stats");
  ASSERT_NE(stats, nullptr);
  EXPECT_EQ(stats->max_age_seconds, 86400);
  EXPECT_EQ(stats->on_store_error, StoreErrorPolicy::kImpute);
  // Document order is the stored row layout.
  ASSERT_EQ(stats->columns.size(), 4u);
  EXPECT_EQ(stats->columns[0].name, "purchases_30d");
  EXPECT_EQ(stats->columns[2].name, "last_purchase");
  EXPECT_EQ(stats->columns[2].type, ValueType::kInt64);
  EXPECT_EQ(stats->columns[3].type, ValueType::kString);
  EXPECT_EQ(definition->FindTable("product_info")->max_age_seconds, 0);
  ASSERT_EQ(definition->request.size(), 2u);
  EXPECT_EQ(definition->request[1].name, "ts");
  EXPECT_TRUE(definition->request[1].required);
  EXPECT_FALSE(definition->request[0].required);
  ASSERT_EQ(definition->features.size(), 13u);
  const Feature& purchases = definition->features[0];
  EXPECT_EQ(purchases.transform, TransformKind::kStandardize);
  EXPECT_EQ(*purchases.params.mean, 3.2);
  EXPECT_EQ(*purchases.params.std, 1.5);
  const Feature* since = definition->FindFeature("since_last");
  ASSERT_NE(since, nullptr);
  EXPECT_EQ(since->sources, (std::vector<std::string>{"request.ts", "user_stats.last_purchase"}));
  EXPECT_EQ(since->params.unit_seconds, 3600.0);
  EXPECT_EQ(definition->FindFeature("price")->impute, 0.0);
  EXPECT_EQ(definition->FindFeature("x")->missing, MissingPolicy::kRequired);
  EXPECT_EQ(definition->FindFeature("category")->params.max_vocabulary, 20);
  ASSERT_EQ(definition->outputs.size(), 1u);
  EXPECT_EQ(definition->outputs[0].tensor, "input__0");
  EXPECT_EQ(definition->outputs[0].features.size(), 6u);
}

TEST(FeatureDefinitionTest, TheExampleInTheDocsParsesToTheSame) {
  const char* source = std::getenv("STRATA_SOURCE_DIR");
  std::ifstream in(std::string(source ? source : ".") + "/docs/features.md");
  std::stringstream page;
  page << in.rdbuf();
  const std::string text = page.str();
  const size_t begin = text.find("```yaml\n");
  ASSERT_NE(begin, std::string::npos);
  const size_t end = text.find("```", begin + 8);
  auto documented = ParseFeatureDefinition(text.substr(begin + 8, end - begin - 8));
  ASSERT_TRUE(documented.ok()) << documented.status();
  EXPECT_EQ(*documented, *ParseFeatureDefinition(ExampleYaml()));
}

TEST(FeatureDefinitionTest, KeysMayCarryTheirTypes) {
  auto definition = ParseFeatureDefinition(
      ExampleWith("user: {keys: [user_id]}", "user: {keys: [{name: user_id, type: STRING}]}"));
  ASSERT_TRUE(definition.ok()) << definition.status();
  EXPECT_EQ(definition->entities[0].keys[0].type, ValueType::kString);
}

TEST(FeatureDefinitionTest, WriteThenParseIsIdentical) {
  auto definition = ParseFeatureDefinition(ExampleYaml());
  ASSERT_TRUE(definition.ok()) << definition.status();
  // Doubles that need all 17 digits, and vocabulary entries YAML would
  // otherwise read as other things.
  definition->features[0].params.mean = 0.1 + 0.2;
  definition->features[0].params.std = std::numeric_limits<double>::denorm_min();
  definition->features[2].params.vocabulary = {"", "true", "123", "a: b", "- x", "null", "ü"};
  definition->features[9].params.boundaries = {-1e300, 5e-324 * 3, 1.0 / 3.0};
  const std::string text = WriteFeatureDefinition(*definition);
  auto again = ParseFeatureDefinition(text);
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << text;
  EXPECT_EQ(*again, *definition) << text;
  EXPECT_EQ(WriteFeatureDefinition(*again), text);
}

TEST(FeatureDefinitionTest, MalformedYamlIsInvalid) {
  ExpectInvalid("entities: [unclosed", "malformed YAML");
  ExpectInvalid("- a list", "top level");
}

TEST(FeatureDefinitionTest, UnknownSourcesAreNamed) {
  ExpectInvalid(ExampleWith("from: user_stats.purchases_30d", "from: user_statz.purchases_30d"),
                "feature 'purchases': unknown source 'user_statz.purchases_30d'");
  ExpectInvalid(ExampleWith("from: user_stats.purchases_30d", "from: user_stats.nope"),
                "table 'user_stats' has no column 'nope'");
  ExpectInvalid(ExampleWith("from: request.query", "from: request.qury"),
                "no request field 'qury'");
  ExpectInvalid(ExampleWith("from: [user.user_id", "from: [user.uid"),
                "entity 'user' has no column 'uid'");
  ExpectInvalid(ExampleWith("from: user_stats.purchases_30d", "from: purchases_30d"),
                "unknown source 'purchases_30d'");
}

TEST(FeatureDefinitionTest, OutputOfAnUnknownFeatureIsNamed) {
  ExpectInvalid(ExampleWith("features: [purchases,", "features: [purchasez,"),
                "output 'input__0': unknown feature 'purchasez'");
}

TEST(FeatureDefinitionTest, UnfittedParametersAreNamedUnlessAllowed) {
  const std::string unfitted = ExampleWith("params: {mean: 3.2, std: 1.5}", "params: {}");
  ExpectInvalid(unfitted, "feature 'purchases': standardize has no fitted mean and std");
  EXPECT_TRUE(ParseFeatureDefinition(unfitted, /*allow_unfitted=*/true).ok());
  ExpectInvalid(ExampleWith("vocabulary: [books, toys], ", ""),
                "feature 'category': one_hot has no fitted vocabulary");
  ExpectInvalid(ExampleWith("params: {boundaries: [10, 50, 100]}", "params: {quantiles: 4}"),
                "feature 'price_bucket': bucketize has no fitted boundaries");
  ExpectInvalid(ExampleWith("params: {min: 0, max: 500}", "params: {min: 0}"),
                "feature 'price_mm': min_max has no fitted min and max");
  ExpectInvalid(ExampleWith("params: {vocabulary: [de, fr, us]}", "params: {max_vocabulary: 3}"),
                "feature 'country': vocabulary has no fitted vocabulary");
}

TEST(FeatureDefinitionTest, TableOfAnUnknownEntityIsNamed) {
  ExpectInvalid(ExampleWith("entity: product", "entity: prodct"),
                "table 'product_info': unknown entity 'prodct'");
}

TEST(FeatureDefinitionTest, RepeatedNamesAreNamed) {
  ExpectInvalid(ExampleWith("{name: price,", "{name: purchases,"),
                "feature 'purchases': repeated name");
  ExpectInvalid(ExampleWith("product_info:\n", "product:\n"), "table 'product': repeated name");
  ExpectInvalid(
      ExampleWith("columns: {price: FLOAT64, category", "columns: {price: FLOAT64, price"),
      "table 'product_info' column 'price': repeated name");
}

TEST(FeatureDefinitionTest, BadTransformsAndParamsAreNamed) {
  ExpectInvalid(ExampleWith("transform: log1p", "transform: log2"),
                "feature 'price': unknown transform 'log2'");
  ExpectInvalid(ExampleWith("transform: log1p", "transform: log1p, params: {buckets: 3}"),
                "feature 'price': param 'buckets' does not apply to log1p");
  ExpectInvalid(ExampleWith("std: 1.5", "std: 0"), "feature 'purchases': std must be > 0");
  ExpectInvalid(ExampleWith("std: 1.5", "std: .nan"), "feature 'purchases' params.std");
  ExpectInvalid(ExampleWith("buckets: 16", "buckets: 0"), "feature 'query_tokens': buckets");
  ExpectInvalid(ExampleWith("buckets: 1000", "buckets: 1e3"), "params.buckets");
  ExpectInvalid(ExampleWith("[10, 50, 100]", "[10, 100, 50]"), "strictly ascending");
  ExpectInvalid(ExampleWith("[de, fr, us]", "[de, fr, de]"), "repeated vocabulary entry");
  ExpectInvalid(ExampleWith("low: 0, high: 50", "low: 50, high: 0"), "low must be <= high");
  ExpectInvalid(ExampleWith("transform: ratio", "transform: ratio, missing: {impute: x}"),
                "feature 'price_vs_avg' missing.impute");
  ExpectInvalid(ExampleWith("transform: one_hot,", "transform: one_hot, missing: {impute: 1},"),
                "impute does not apply to one_hot");
}

TEST(FeatureDefinitionTest, SourceCountsAndTypesAreChecked) {
  ExpectInvalid(ExampleWith("from: [product_info.price, user_stats.avg_price], transform: ratio",
                            "from: product_info.price, transform: ratio"),
                "feature 'price_vs_avg': ratio takes two sources");
  ExpectInvalid(ExampleWith("from: user_stats.country, transform: vocabulary",
                            "from: user_stats.avg_price, transform: vocabulary"),
                "source 'user_stats.avg_price' is FLOAT64");
  ExpectInvalid(ExampleWith("from: [user.user_id, product_info.category], transform: cross",
                            "from: user.user_id, transform: cross"),
                "feature 'user_x_category': cross takes 2+ sources");
}

TEST(FeatureDefinitionTest, StructuralErrorsAreNamed) {
  ExpectInvalid(ExampleWith("entities:", "entitys:"), "top level: unknown key 'entitys'");
  ExpectInvalid(ExampleWith("on_store_error: impute", "on_store_error: maybe"),
                "table 'user_stats': on_store_error");
  ExpectInvalid(ExampleWith("query: {type: STRING}", "query: {type: TEXT}"),
                "request field 'query'");
  ExpectInvalid(ExampleWith("max_age: 86400", "max_age: -1"), "table 'user_stats': max_age");
  ExpectInvalid(ExampleWith("key_types: {user_id: INT64,", "key_types: {user_id: FLOAT64,"),
                "entity 'user': key column 'user_id' must be INT64 or STRING");
  ExpectInvalid(ExampleWith("key_types: {user_id: INT64,", "key_types: {uid: INT64,"),
                "key_types: 'uid'");
}

TEST(FeatureDefinitionTest, LoadNamesTheFile) {
  auto missing = LoadFeatureDefinition("/nonexistent/features.yaml");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  const std::string path = ::testing::TempDir() + "/bad_features.yaml";
  std::ofstream(path) << "features: 3\n";
  auto bad = LoadFeatureDefinition(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr(path));
}

TEST(FeatureDefinitionTest, TransformNamesRoundTrip) {
  for (const char* name :
       {"identity", "standardize", "min_max", "clip", "log1p", "bucketize", "one_hot",
        "hash_buckets", "vocabulary", "time_since", "hour_of_day", "ratio", "cross"}) {
    TransformKind kind;
    ASSERT_TRUE(ParseTransformKind(name, kind)) << name;
    EXPECT_EQ(TransformName(kind), name);
  }
  TransformKind kind;
  EXPECT_FALSE(ParseTransformKind("Identity", kind));
}

}  // namespace
}  // namespace strata::features
