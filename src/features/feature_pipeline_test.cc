#include "features/feature_pipeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

namespace strata::features {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr float kFloatMax = std::numeric_limits<float>::max();
const FeatureValue kMissing = std::monostate();

// A pipeline of one feature `f` over request fields a, b (FLOAT64), s
// (STRING) and i (INT64), in that slot order.
std::shared_ptr<const FeaturePipeline> One(const std::string& feature) {
  const std::string yaml =
      "request: {a: FLOAT64, b: FLOAT64, s: STRING, i: INT64}\n"
      "features:\n  - {name: f, " +
      feature + "}\noutputs:\n  - {tensor: t, features: [f]}\n";
  auto definition = ParseFeatureDefinition(yaml);
  EXPECT_TRUE(definition.ok()) << definition.status() << "\n" << yaml;
  if (!definition.ok()) return nullptr;
  auto pipeline = FeaturePipeline::Create(*definition);
  EXPECT_TRUE(pipeline.ok()) << pipeline.status();
  return pipeline.ok() ? *pipeline : nullptr;
}

struct Raw {
  FeatureValue a = std::monostate(), b = std::monostate(), s = std::monostate(),
               i = std::monostate();
};

absl::StatusOr<std::vector<float>> Transform(const FeaturePipeline& pipeline, Raw raw,
                                             FeatureCounters* counters = nullptr) {
  std::vector<FeatureValue> values = {raw.a, raw.b, raw.s, raw.i};
  std::vector<float> out(pipeline.width(), -1.0f);
  if (auto s = pipeline.TransformRow(values, out, counters); !s.ok()) return s;
  return out;
}

float RunOne(const FeaturePipeline& pipeline, Raw raw) {
  auto out = Transform(pipeline, std::move(raw));
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() && !out->empty() ? (*out)[0] : std::nanf("");
}

TEST(FeaturePipelineTest, Identity) {
  auto p = One("from: request.a, transform: identity");
  EXPECT_EQ(RunOne(*p, {.a = 2.5}), 2.5f);
  EXPECT_EQ(RunOne(*p, {.a = int64_t{7}}), 7.0f);
  EXPECT_EQ(RunOne(*p, {.a = kNaN}), 0.0f);
  EXPECT_EQ(RunOne(*p, {.a = kMissing}), 0.0f);
  EXPECT_EQ(RunOne(*p, {.a = kInf}), kFloatMax);
  EXPECT_EQ(RunOne(*p, {.a = -kInf}), -kFloatMax);
  EXPECT_EQ(RunOne(*p, {.a = 1e300}), kFloatMax);  // beyond float: clamped, never inf
  // One rounding, double to float.
  EXPECT_EQ(RunOne(*p, {.a = 0.1}), static_cast<float>(0.1));
}

TEST(FeaturePipelineTest, StringInputsOfNumericTransformsAreParsed) {
  auto p = One("from: request.s, transform: identity");
  EXPECT_EQ(RunOne(*p, {.s = std::string("3.5")}), 3.5f);
  EXPECT_EQ(RunOne(*p, {.s = std::string("nan")}), 0.0f);  // missing, imputed
  for (const char* bad : {"", "abc", " 1", "1x"}) {
    auto out = Transform(*p, {.s = std::string(bad)});
    ASSERT_FALSE(out.ok()) << bad;
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(out.status().message()),
                HasSubstr("feature 'f': input 'request.s' is not a number"));
  }
}

TEST(FeaturePipelineTest, Standardize) {
  auto p = One("from: request.a, transform: standardize, params: {mean: 3.2, std: 1.5}");
  EXPECT_EQ(RunOne(*p, {.a = 3.2}), 0.0f);
  EXPECT_EQ(RunOne(*p, {.a = 4.7}), static_cast<float>((4.7 - 3.2) / 1.5));
  EXPECT_EQ(RunOne(*p, {.a = kMissing}), 0.0f);  // imputed with the mean
  EXPECT_EQ(RunOne(*p, {.a = kInf}), kFloatMax);
  EXPECT_EQ(RunOne(*p, {.a = -kInf}), -kFloatMax);
  auto imputed =
      One("from: request.a, transform: standardize, params: {mean: 3.2, std: 1.5}, "
          "missing: {impute: 6.2}");
  EXPECT_EQ(RunOne(*imputed, {.a = kNaN}), static_cast<float>((6.2 - 3.2) / 1.5));
}

TEST(FeaturePipelineTest, MinMaxClipLog1p) {
  auto mm = One("from: request.a, transform: min_max, params: {min: 0, max: 500}");
  EXPECT_EQ(RunOne(*mm, {.a = 250.0}), 0.5f);
  EXPECT_EQ(RunOne(*mm, {.a = -500.0}), -1.0f);  // not clipped
  EXPECT_EQ(RunOne(*mm, {.a = -kInf}), -kFloatMax);
  auto clip = One("from: request.a, transform: clip, params: {low: 0, high: 50}");
  EXPECT_EQ(RunOne(*clip, {.a = -1.0}), 0.0f);
  EXPECT_EQ(RunOne(*clip, {.a = 60.0}), 50.0f);
  EXPECT_EQ(RunOne(*clip, {.a = kInf}), 50.0f);
  EXPECT_EQ(RunOne(*clip, {.a = -kInf}), 0.0f);
  auto high_only = One("from: request.a, transform: clip, params: {high: 5}");
  EXPECT_EQ(RunOne(*high_only, {.a = -kInf}), -kFloatMax);
  auto log = One("from: request.a, transform: log1p");
  EXPECT_EQ(RunOne(*log, {.a = -5.0}), 0.0f);
  EXPECT_EQ(RunOne(*log, {.a = std::exp(1.0) - 1.0}),
            static_cast<float>(std::log1p(std::exp(1.0) - 1.0)));
  EXPECT_EQ(RunOne(*log, {.a = kInf}), kFloatMax);
  EXPECT_EQ(RunOne(*log, {.a = -kInf}), 0.0f);
  EXPECT_EQ(RunOne(*log, {.a = kMissing}), 0.0f);
}

TEST(FeaturePipelineTest, Bucketize) {
  auto p = One("from: request.a, transform: bucketize, params: {boundaries: [10, 50, 100]}");
  EXPECT_EQ(RunOne(*p, {.a = 9.99}), 0.0f);
  EXPECT_EQ(RunOne(*p, {.a = 10.0}), 1.0f);  // a boundary opens its bucket
  EXPECT_EQ(RunOne(*p, {.a = 50.0}), 2.0f);
  EXPECT_EQ(RunOne(*p, {.a = 100.0}), 3.0f);
  EXPECT_EQ(RunOne(*p, {.a = kInf}), 3.0f);
  EXPECT_EQ(RunOne(*p, {.a = -kInf}), 0.0f);
  EXPECT_EQ(RunOne(*p, {.a = kNaN}), 0.0f);  // imputed 0, then bucketized
  auto imputed =
      One("from: request.a, transform: bucketize, params: {boundaries: [10, 50, 100]}, "
          "missing: {impute: 75}");
  EXPECT_EQ(RunOne(*imputed, {.a = kMissing}), 2.0f);
}

TEST(FeaturePipelineTest, OneHot) {
  auto p = One("from: request.s, transform: one_hot, params: {vocabulary: [books, toys]}");
  ASSERT_EQ(p->width(), 3u);
  EXPECT_THAT(*Transform(*p, {.s = std::string("books")}), ElementsAre(1, 0, 0));
  EXPECT_THAT(*Transform(*p, {.s = std::string("toys")}), ElementsAre(0, 1, 0));
  EXPECT_THAT(*Transform(*p, {.s = std::string("games")}), ElementsAre(0, 0, 1));
  EXPECT_THAT(*Transform(*p, {.s = std::string("Books")}), ElementsAre(0, 0, 1));  // case matters
  EXPECT_THAT(*Transform(*p, {.s = std::string("")}), ElementsAre(0, 0, 1));
  EXPECT_THAT(*Transform(*p, {.s = kMissing}), ElementsAre(0, 0, 1));
  auto with_empty = One("from: request.s, transform: one_hot, params: {vocabulary: ['', toys]}");
  EXPECT_THAT(*Transform(*with_empty, {.s = std::string("")}), ElementsAre(1, 0, 0));
  auto ints = One("from: request.i, transform: one_hot, params: {vocabulary: ['5', '-1']}");
  EXPECT_THAT(*Transform(*ints, {.i = int64_t{-1}}), ElementsAre(0, 1, 0));
  EXPECT_THAT(*Transform(*ints, {.i = 5.0}), ElementsAre(1, 0, 0));  // 5.0 reads as "5"
}

TEST(FeaturePipelineTest, Vocabulary) {
  auto p = One("from: request.s, transform: vocabulary, params: {vocabulary: [de, fr, us]}");
  ASSERT_EQ(p->width(), 1u);
  EXPECT_EQ(RunOne(*p, {.s = std::string("de")}), 0.0f);
  EXPECT_EQ(RunOne(*p, {.s = std::string("fr")}), 1.0f);
  EXPECT_EQ(RunOne(*p, {.s = std::string("xx")}), 3.0f);
  EXPECT_EQ(RunOne(*p, {.s = std::string("")}), 3.0f);
  EXPECT_EQ(RunOne(*p, {.s = kMissing}), 3.0f);
}

TEST(FeaturePipelineTest, HashBucketsUseFnv1aOfLowercasedTokens) {
  auto p = One("from: request.s, transform: hash_buckets, params: {buckets: 16}");
  ASSERT_EQ(p->width(), 16u);
  const std::vector<float> zeros(16, 0.0f);
  EXPECT_EQ(*Transform(*p, {.s = std::string("")}), zeros);
  EXPECT_EQ(*Transform(*p, {.s = std::string(" \t\n ")}), zeros);
  EXPECT_EQ(*Transform(*p, {.s = kMissing}), zeros);
  // FNV-1a 64 test vectors: "a" = 0xaf63dc4c8601ec8c, "hello" = 0xa430d84680aabd0b.
  std::vector<float> expected = zeros;
  expected[0xaf63dc4c8601ec8cull % 16] += 1;
  expected[0xa430d84680aabd0bull % 16] += 2;
  EXPECT_EQ(*Transform(*p, {.s = std::string("Hello\ta  HELLO\n")}), expected);
}

TEST(FeaturePipelineTest, HourOfDayIsUtc) {
  auto p = One("from: request.i, transform: hour_of_day");
  EXPECT_EQ(RunOne(*p, {.i = int64_t{0}}), 0.0f);
  EXPECT_EQ(RunOne(*p, {.i = int64_t{13 * 3600 + 59 * 60 + 59}}), 13.0f);
  EXPECT_EQ(RunOne(*p, {.i = int64_t{1700000000}}), 22.0f);  // 2023-11-14T22:13:20Z
  EXPECT_EQ(RunOne(*p, {.i = int64_t{-1}}), 23.0f);          // 1969-12-31T23:59:59Z
  auto d = One("from: request.a, transform: hour_of_day, missing: {impute: 7200}");
  EXPECT_EQ(RunOne(*d, {.a = 3599.9}), 0.0f);
  EXPECT_EQ(RunOne(*d, {.a = kInf}), 2.0f);  // an infinite time is missing
}

TEST(FeaturePipelineTest, TimeSinceClampsTheFutureAtZero) {
  auto p = One("from: [request.i, request.a], transform: time_since, params: {unit_seconds: 3600}");
  EXPECT_EQ(RunOne(*p, {.a = 0.0, .i = int64_t{7200}}), 2.0f);
  EXPECT_EQ(RunOne(*p, {.a = 5400.0, .i = int64_t{7200}}), 0.5f);
  EXPECT_EQ(RunOne(*p, {.a = 9000.0, .i = int64_t{7200}}), 0.0f);  // event in the future
  EXPECT_EQ(RunOne(*p, {.a = kMissing, .i = int64_t{7200}}), 0.0f);
  auto imputed = One("from: [request.i, request.a], transform: time_since, missing: {impute: 99}");
  EXPECT_EQ(RunOne(*imputed, {.a = -kInf, .i = int64_t{7200}}), 99.0f);
  EXPECT_EQ(RunOne(*imputed, {.a = 100.0, .i = int64_t{7200}}), 7100.0f);
}

TEST(FeaturePipelineTest, RatioOfZeroIsImputed) {
  auto p = One("from: [request.a, request.b], transform: ratio, missing: {impute: -1}");
  FeatureCounters counters(1);
  EXPECT_EQ(*Transform(*p, {.a = 6.0, .b = 3.0}, &counters), std::vector<float>{2.0f});
  EXPECT_EQ(counters.imputed(0), 0);
  EXPECT_EQ(*Transform(*p, {.a = 6.0, .b = 0.0}, &counters), std::vector<float>{-1.0f});
  EXPECT_EQ(*Transform(*p, {.a = 0.0, .b = -0.0}, &counters), std::vector<float>{-1.0f});
  EXPECT_EQ(*Transform(*p, {.a = kInf, .b = kInf}, &counters), std::vector<float>{-1.0f});
  EXPECT_EQ(*Transform(*p, {.a = kMissing, .b = 1.0}, &counters), std::vector<float>{-1.0f});
  EXPECT_EQ(counters.imputed(0), 4);
  EXPECT_EQ(RunOne(*p, {.a = kInf, .b = 2.0}), kFloatMax);
  EXPECT_EQ(RunOne(*p, {.a = 1.0, .b = 3.0}), static_cast<float>(1.0 / 3.0));
}

TEST(FeaturePipelineTest, CrossHashesCanonicalTexts) {
  auto p = One("from: [request.i, request.s], transform: cross, params: {buckets: 1000}");
  // FNV-1a 64 of "7\x1f" "books", computed by hand.
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : std::string("7\x1f"
                                     "books")) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  const float expected = static_cast<float>(hash % 1000);
  EXPECT_EQ(RunOne(*p, {.s = std::string("books"), .i = int64_t{7}}), expected);
  EXPECT_EQ(RunOne(*p, {.s = std::string("books"), .i = 7.0}), expected);
  EXPECT_NE(RunOne(*p, {.s = std::string("book"), .i = int64_t{7}}), expected);
  EXPECT_EQ(RunOne(*p, {.s = kMissing, .i = int64_t{7}}), 0.0f);
}

TEST(FeaturePipelineTest, RequiredInputsAreRefusedByName) {
  auto p = One("from: request.a, transform: log1p, missing: required");
  for (const FeatureValue& value : {kMissing, FeatureValue(kNaN)}) {
    auto out = Transform(*p, {.a = value});
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(out.status().message()),
                HasSubstr("feature 'f': required input 'request.a' is missing"));
  }
  auto one_hot =
      One("from: request.s, transform: one_hot, params: {vocabulary: [x]}, missing: required");
  EXPECT_FALSE(Transform(*one_hot, {}).ok());
  EXPECT_TRUE(Transform(*one_hot, {.s = std::string("")}).ok());  // empty is a value
  auto cross = One(
      "from: [request.s, request.i], transform: cross, params: {buckets: 3}, missing: required");
  auto out = Transform(*cross, {.s = std::string("x")});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("'request.i'"));
}

std::string ExampleYaml() {
  const char* source = std::getenv("STRATA_SOURCE_DIR");
  std::ifstream in(std::string(source ? source : ".") +
                   "/src/features/testdata/example_features.yaml");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::shared_ptr<const FeaturePipeline> Example(const std::string& outputs = "") {
  std::string yaml = ExampleYaml();
  if (!outputs.empty()) yaml = yaml.substr(0, yaml.find("outputs:")) + outputs;
  auto definition = ParseFeatureDefinition(yaml);
  EXPECT_TRUE(definition.ok()) << definition.status();
  auto pipeline = FeaturePipeline::Create(*definition);
  EXPECT_TRUE(pipeline.ok()) << pipeline.status();
  return *pipeline;
}

// A full row of the example: slots query, ts, user_id, product_id,
// purchases_30d, avg_price, last_purchase, country, price, category.
void FillExampleRow(const FeaturePipeline& p, RawRows& rows, size_t row, int64_t ts) {
  rows.At(row, p.SlotOf("request", "query")) = std::string("Red toy car");
  rows.At(row, p.SlotOf("request", "ts")) = ts;
  rows.At(row, p.SlotOf("user", "user_id")) = int64_t{42};
  rows.At(row, p.SlotOf("product", "product_id")) = int64_t{7};
  rows.At(row, p.SlotOf("user_stats", "purchases_30d")) = 4.7;
  rows.At(row, p.SlotOf("user_stats", "avg_price")) = 20.0;
  rows.At(row, p.SlotOf("user_stats", "last_purchase")) = ts - 7200;
  rows.At(row, p.SlotOf("user_stats", "country")) = std::string("fr");
  rows.At(row, p.SlotOf("product_info", "price")) = 30.0;
  rows.At(row, p.SlotOf("product_info", "category")) = std::string("toys");
}

TEST(FeaturePipelineTest, SlotsAreRequestThenKeysThenTables) {
  auto p = Example();
  std::vector<std::string> names;
  for (const Slot& slot : p->slots()) names.push_back(slot.Name());
  EXPECT_THAT(
      names,
      ElementsAre("request.query", "request.ts", "user.user_id", "product.product_id",
                  "user_stats.purchases_30d", "user_stats.avg_price", "user_stats.last_purchase",
                  "user_stats.country", "product_info.price", "product_info.category"));
  EXPECT_EQ(p->slots()[2].source, Slot::Source::kKey);
  EXPECT_EQ(p->slots()[9].source, Slot::Source::kTable);
  EXPECT_EQ(p->slots()[9].type, ValueType::kString);
  EXPECT_EQ(p->SlotOf("product_info", "nope"), -1);
  EXPECT_EQ(SlotsOf(p->definition()).size(), p->slots().size());
}

TEST(FeaturePipelineTest, AssemblesTheExampleIntoItsTensor) {
  auto p = Example();
  // purchases 1, price 1, category 3, query_tokens 16, hour 1, since_last 1.
  ASSERT_EQ(p->width(), 23u);
  EXPECT_THAT(p->output_widths(), ElementsAre(23u));
  EXPECT_EQ(p->feature_width(2), 3u);
  const std::vector<std::string> names = p->ColumnNames();
  ASSERT_EQ(names.size(), 23u);
  EXPECT_EQ(names[0], "purchases");
  EXPECT_EQ(names[2], "category[0]");
  EXPECT_EQ(names[5], "query_tokens[0]");
  EXPECT_EQ(names[22], "since_last");
  RawRows rows(2, p->slots().size());
  FillExampleRow(*p, rows, 0, 1700000000);
  FillExampleRow(*p, rows, 1, 1700003600);
  rows.At(1, p->SlotOf("product_info", "price")) = std::monostate();
  FeatureCounters counters(p->definition().features.size());
  auto tensors = p->Assemble(rows, &counters);
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  ASSERT_EQ(tensors->size(), 1u);
  const core::Tensor& t = (*tensors)[0];
  EXPECT_EQ(t.name, "input__0");
  EXPECT_EQ(t.dtype, core::DataType::kFp32);
  EXPECT_THAT(t.shape, ElementsAre(2, 23));
  const auto v = t.As<float>();
  EXPECT_EQ(v[0], static_cast<float>((4.7 - 3.2) / 1.5));
  EXPECT_EQ(v[1], static_cast<float>(std::log1p(30.0)));
  EXPECT_EQ(v[2 + 1], 1.0f);  // toys
  float tokens = 0;
  for (int i = 5; i < 21; ++i) tokens += v[i];
  EXPECT_EQ(tokens, 3.0f);
  EXPECT_EQ(v[21], 22.0f);     // hour
  EXPECT_EQ(v[22], 2.0f);      // hours since the last purchase
  EXPECT_EQ(v[23 + 1], 0.0f);  // row 1: price missing, imputed 0
  EXPECT_EQ(v[23 + 21], 23.0f);
  EXPECT_EQ(counters.imputed(1), 1);
  EXPECT_EQ(counters.imputed(0), 0);
}

TEST(FeaturePipelineTest, AssemblesSeveralOutputsInOrder) {
  auto p = Example(
      "outputs:\n  - {tensor: b, features: [hour, price_bucket]}\n"
      "  - {tensor: a, features: [country, hour]}\n");
  EXPECT_THAT(p->output_widths(), ElementsAre(2u, 2u));
  EXPECT_THAT(p->ColumnNames(), ElementsAre("hour", "price_bucket", "country", "hour"));
  RawRows rows(1, p->slots().size());
  FillExampleRow(*p, rows, 0, 1700000000);
  auto tensors = p->Assemble(rows);
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  ASSERT_EQ(tensors->size(), 2u);
  EXPECT_EQ((*tensors)[0].name, "b");
  EXPECT_EQ((*tensors)[1].name, "a");
  EXPECT_THAT((*tensors)[0].As<float>(), ElementsAre(22.0f, 1.0f));
  EXPECT_THAT((*tensors)[1].As<float>(), ElementsAre(1.0f, 22.0f));
}

TEST(FeaturePipelineTest, AssembleNamesTheFailingRow) {
  auto p = Example();
  RawRows rows(3, p->slots().size());
  for (size_t r = 0; r < 3; ++r) FillExampleRow(*p, rows, r, 1700000000);
  rows.At(2, p->SlotOf("request", "ts")) = std::monostate();
  auto tensors = p->Assemble(rows);
  ASSERT_FALSE(tensors.ok());
  EXPECT_EQ(tensors.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tensors.status().message()),
              HasSubstr("row 2: request field 'ts' is required"));
  // `x` is required and in no output: its input is still checked.
  FillExampleRow(*p, rows, 2, 1700000000);
  rows.At(1, p->SlotOf("request", "query")) = std::monostate();
  tensors = p->Assemble(rows);
  ASSERT_FALSE(tensors.ok());
  EXPECT_THAT(std::string(tensors.status().message()),
              HasSubstr("row 1: feature 'x': required input 'request.query' is missing"));
  EXPECT_FALSE(p->Assemble(RawRows(1, 3)).ok());
}

TEST(FeaturePipelineTest, CreateRefusesUnfittedDefinitions) {
  auto definition = ParseFeatureDefinition(
      ExampleYaml().replace(ExampleYaml().find("params: {mean: 3.2, std: 1.5}"), 29, "params: {}"),
      /*allow_unfitted=*/true);
  ASSERT_TRUE(definition.ok()) << definition.status();
  EXPECT_EQ(SlotsOf(*definition).size(), 10u);
  auto pipeline = FeaturePipeline::Create(*definition);
  ASSERT_FALSE(pipeline.ok());
  EXPECT_THAT(std::string(pipeline.status().message()), HasSubstr("feature 'purchases'"));
}

TEST(FeaturePipelineTest, RowsAreBitIdenticalAcrossRunsAndInstances) {
  auto first = Example();
  auto second = Example();
  RawRows rows(64, first->slots().size());
  for (size_t r = 0; r < 64; ++r) {
    FillExampleRow(*first, rows, r, 1700000000 + static_cast<int64_t>(r) * 977);
    rows.At(r, first->SlotOf("user_stats", "purchases_30d")) = 0.1 * static_cast<double>(r);
    rows.At(r, first->SlotOf("request", "query")) = "q" + std::to_string(r * 31) + " x";
  }
  auto a = first->Assemble(rows);
  auto b = second->Assemble(rows);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)[0].data, (*b)[0].data);
  std::vector<float> row(first->width());
  ASSERT_TRUE(first->TransformRow(rows.Row(5), row).ok());
  EXPECT_EQ(std::memcmp(row.data(), (*a)[0].data.data() + 5 * row.size() * sizeof(float),
                        row.size() * sizeof(float)),
            0);
}

}  // namespace
}  // namespace strata::features
