#include "features/fitting.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "features/feature_pipeline.h"

namespace strata::features {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Request fields x (FLOAT64), c (STRING), n (INT64): slots 0, 1, 2.
constexpr char kUnfitted[] = R"(
request: {x: FLOAT64, c: STRING, n: INT64}
features:
  - {name: z, from: request.x, transform: standardize}
  - {name: z_mean_given, from: request.x, transform: standardize, params: {mean: 0}}
  - {name: mm, from: request.x, transform: min_max}
  - {name: q, from: request.x, transform: bucketize, params: {quantiles: 4}}
  - {name: oh, from: request.c, transform: one_hot, params: {max_vocabulary: 3}}
  - {name: voc, from: request.c, transform: vocabulary}
  - {name: ints, from: request.n, transform: vocabulary}
  - {name: kept, from: request.c, transform: one_hot, params: {vocabulary: [zz]}}
  - {name: plain, from: request.x, transform: log1p}
outputs:
  - {tensor: t, features: [z, mm, q, oh, voc, ints, kept, plain]}
)";

FeatureDefinition Unfitted(const std::string& yaml = kUnfitted) {
  auto definition = ParseFeatureDefinition(yaml, /*allow_unfitted=*/true);
  EXPECT_TRUE(definition.ok()) << definition.status();
  return *definition;
}

RawRows Rows(const std::vector<FeatureValue>& x, const std::vector<FeatureValue>& c,
             const std::vector<FeatureValue>& n) {
  RawRows rows(x.size(), 3);
  for (size_t r = 0; r < x.size(); ++r) {
    rows.At(r, 0) = x[r];
    rows.At(r, 1) = c[r];
    rows.At(r, 2) = n[r];
  }
  return rows;
}

const FeatureValue kMissing = std::monostate();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

RawRows SampleRows() {
  // x: 1..100, then missing, NaN and infinities (not fitted on); c: b a c a
  // b d; n: 7 6 7.
  RawRows rows(104, 3);
  for (size_t r = 0; r < 100; ++r) rows.At(r, 0) = static_cast<double>(r + 1);
  rows.At(101, 0) = kNaN;
  rows.At(102, 0) = kInf;
  rows.At(103, 0) = -kInf;
  const char* texts[] = {"b", "a", "c", "a", "b", "d"};
  for (size_t r = 0; r < 6; ++r) rows.At(r, 1) = std::string(texts[r]);
  for (size_t r = 0; r < 3; ++r) rows.At(r, 2) = int64_t{7} - static_cast<int64_t>(r % 2);
  return rows;
}

TEST(FittingTest, FitsEveryUnfittedParameter) {
  auto fitted = Fit(Unfitted(), SampleRows());
  ASSERT_TRUE(fitted.ok()) << fitted.status();
  const Feature& z = *fitted->FindFeature("z");
  EXPECT_EQ(*z.params.mean, 50.5);
  EXPECT_DOUBLE_EQ(*z.params.std, std::sqrt((100.0 * 100.0 - 1.0) / 12.0));
  const Feature& given = *fitted->FindFeature("z_mean_given");
  EXPECT_EQ(*given.params.mean, 0.0);  // kept; std measured around it
  double squares = 0;
  for (int i = 1; i <= 100; ++i) squares += i * i;
  EXPECT_EQ(*given.params.std, std::sqrt(squares / 100.0));
  const Feature& mm = *fitted->FindFeature("mm");
  EXPECT_EQ(*mm.params.min, 1.0);
  EXPECT_EQ(*mm.params.max, 100.0);
  EXPECT_THAT(fitted->FindFeature("q")->params.boundaries, ElementsAre(26.0, 51.0, 76.0));
  // By count, ties by text; max_vocabulary keeps the first 3.
  EXPECT_THAT(fitted->FindFeature("oh")->params.vocabulary, ElementsAre("a", "b", "c"));
  EXPECT_THAT(fitted->FindFeature("voc")->params.vocabulary, ElementsAre("a", "b", "c", "d"));
  EXPECT_THAT(fitted->FindFeature("ints")->params.vocabulary, ElementsAre("7", "6"));
  EXPECT_THAT(fitted->FindFeature("kept")->params.vocabulary, ElementsAre("zz"));
  EXPECT_EQ(fitted->FindFeature("plain")->params, TransformParams());
  // The result runs, and writes and reads back equal.
  EXPECT_TRUE(FeaturePipeline::Create(*fitted).ok());
  auto again = ParseFeatureDefinition(WriteFeatureDefinition(*fitted));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *fitted);
}

TEST(FittingTest, IsDeterministic) {
  auto a = Fit(Unfitted(), SampleRows());
  auto b = Fit(Unfitted(), SampleRows());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(WriteFeatureDefinition(*a), WriteFeatureDefinition(*b));
}

TEST(FittingTest, ConstantColumnsStillFit) {
  RawRows rows = Rows({5.0, 5.0, 5.0}, {std::string("x"), std::string("x"), std::string("x")},
                      {int64_t{1}, int64_t{1}, int64_t{1}});
  auto fitted = Fit(Unfitted(), rows);
  ASSERT_TRUE(fitted.ok()) << fitted.status();
  EXPECT_EQ(*fitted->FindFeature("z")->params.std, 1.0);
  EXPECT_EQ(*fitted->FindFeature("mm")->params.max, 6.0);
  EXPECT_THAT(fitted->FindFeature("q")->params.boundaries, ElementsAre(5.0));
}

TEST(FittingTest, StringNumbersAreRead) {
  auto definition = Unfitted(
      "request: {s: STRING}\nfeatures:\n  - {name: z, from: request.s, transform: standardize}\n"
      "outputs:\n  - {tensor: t, features: [z]}\n");
  RawRows rows(2, 1);
  rows.At(0, 0) = std::string("1");
  rows.At(1, 0) = std::string("3");
  auto fitted = Fit(definition, rows);
  ASSERT_TRUE(fitted.ok()) << fitted.status();
  EXPECT_EQ(*fitted->features[0].params.mean, 2.0);
  rows.At(1, 0) = std::string("three");
  auto bad = Fit(definition, rows);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("feature 'z': row 1"));
}

TEST(FittingTest, ErrorsNameTheFeature) {
  RawRows empty =
      Rows({kMissing, kNaN}, {std::string("a"), std::string("b")}, {int64_t{1}, int64_t{2}});
  auto fitted = Fit(Unfitted(), empty);
  ASSERT_FALSE(fitted.ok());
  EXPECT_EQ(fitted.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(fitted.status().message()),
              HasSubstr("feature 'z': no non-missing value of 'request.x'"));
  std::string yaml = kUnfitted;
  yaml.replace(yaml.find("params: {quantiles: 4}"), 22, "params: {}");
  fitted = Fit(Unfitted(yaml), SampleRows());
  ASSERT_FALSE(fitted.ok());
  EXPECT_THAT(std::string(fitted.status().message()),
              HasSubstr("feature 'q': bucketize needs boundaries or quantiles"));
  EXPECT_FALSE(Fit(Unfitted(), RawRows(3, 2)).ok());
}

}  // namespace
}  // namespace strata::features
