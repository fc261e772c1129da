// ReadRawRows: a key-only request read into the raw rows the feature
// pipeline takes, for the rows asked only, with every input still checked.
#include "serving/feature_inputs.h"

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

constexpr char kYaml[] = R"(
entities:
  user: {keys: [user_id]}
key_types: {user_id: INT64}
tables:
  user_stats:
    entity: user
    columns: {visits: FLOAT64}
request:
  query: {type: STRING}
features:
  - {name: visits, from: user_stats.visits}
  - {name: query_tokens, from: request.query, transform: hash_buckets, params: {buckets: 4}}
outputs:
  - {tensor: x, features: [visits, query_tokens]}
)";

std::shared_ptr<const features::FeaturePipeline> Pipeline() {
  return *features::FeaturePipeline::Create(*features::ParseFeatureDefinition(kYaml));
}

core::Tensor Ints(std::string name, std::vector<int64_t> values) {
  core::Tensor t = core::Tensor::Zeros(std::move(name), core::DataType::kInt64,
                                       {static_cast<int64_t>(values.size())});
  std::copy(values.begin(), values.end(), t.MutableAs<int64_t>().begin());
  return t;
}

core::Tensor Texts(std::string name, const std::vector<std::string>& values) {
  core::Tensor t{std::move(name), core::DataType::kBytes, {int64_t(values.size())}, {}};
  for (const std::string& v : values) core::AppendBytesElement(v, t.data);
  return t;
}

TEST(ReadRawRows, ReadsOnlyTheRowsAskedInTheirOrder) {
  auto pipeline = Pipeline();
  const std::vector<core::Tensor> inputs = {Ints("user_id", {10, 11, 12}),
                                            Texts("query", {"a", "bb", "ccc"})};
  const std::vector<size_t> rows = {2, 0};
  absl::StatusOr<features::RawRows> raw = ReadRawRows(*pipeline, inputs, rows, "m");
  ASSERT_TRUE(raw.ok()) << raw.status();
  ASSERT_EQ(raw->rows(), 2u);
  const auto user = static_cast<size_t>(pipeline->SlotOf("user", "user_id"));
  const auto query = static_cast<size_t>(pipeline->SlotOf("request", "query"));
  EXPECT_EQ(std::get<int64_t>(raw->At(0, user)), 12);
  EXPECT_EQ(std::get<int64_t>(raw->At(1, user)), 10);
  EXPECT_EQ(std::get<std::string>(raw->At(0, query)), "ccc");
  EXPECT_EQ(std::get<std::string>(raw->At(1, query)), "a");
}

TEST(ReadRawRows, ChecksEveryInputEvenWhenNoRowIsAsked) {
  auto pipeline = Pipeline();
  const std::vector<core::Tensor> mistyped = {Ints("user_id", {1}), Ints("query", {7})};
  absl::StatusOr<features::RawRows> raw = ReadRawRows(*pipeline, mistyped, {}, "m");
  EXPECT_EQ(raw.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(raw.status().message().find("input 'query' must be STRING"), std::string_view::npos)
      << raw.status();
  const std::vector<core::Tensor> unknown = {Ints("user_id", {1}), Ints("colour", {7})};
  EXPECT_NE(ReadRawRows(*pipeline, unknown, {}, "m").status().message().find("'colour'"),
            std::string_view::npos);
  const std::vector<core::Tensor> keys_only = {Ints("user_id", {1})};
  EXPECT_TRUE(ReadRawRows(*pipeline, keys_only, {}, "m").ok());
}

TEST(ReadRawRows, ARowBeyondAnInputIsRefusedNamingIt) {
  auto pipeline = Pipeline();
  const std::vector<core::Tensor> inputs = {Ints("user_id", {1, 2, 3}), Texts("query", {"a"})};
  const std::vector<size_t> rows = {2};
  absl::StatusOr<features::RawRows> raw = ReadRawRows(*pipeline, inputs, rows, "m");
  EXPECT_EQ(raw.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(raw.status().message().find("model 'm': input 'query' has too few values"),
            std::string_view::npos)
      << raw.status();
}

}  // namespace
}  // namespace strata::serving
