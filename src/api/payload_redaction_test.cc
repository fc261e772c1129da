#include "api/payload_redaction.h"

#include <cstring>

#include "gtest/gtest.h"

namespace strata::api {
namespace {

core::Tensor Int64s(std::string name, std::vector<int64_t> values) {
  core::Tensor t{.name = std::move(name),
                 .dtype = core::DataType::kInt64,
                 .shape = {static_cast<int64_t>(values.size())},
                 .data = std::vector<uint8_t>(values.size() * sizeof(int64_t))};
  std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

core::Tensor Strings(std::string name, std::vector<std::string> values) {
  core::Tensor t{.name = std::move(name),
                 .dtype = core::DataType::kBytes,
                 .shape = {static_cast<int64_t>(values.size())},
                 .data = {}};
  for (const std::string& v : values) core::AppendBytesElement(v, t.data);
  return t;
}

// A stand-in for the keyed hash: visibly not the value.
std::string FakeHash(std::string_view text) { return "h(" + std::string(text) + ")"; }

TEST(PayloadRedactionTest, ParsesAPolicy) {
  absl::StatusOr<RedactionPolicy> policy = ParseRedactionPolicy(
      "inputs:\n  age: keep\n  user_id: hash\n  email: drop\noutputs:\n  score: keep\n");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(ActionOf(policy->inputs, "age"), FieldAction::kKeep);
  EXPECT_EQ(ActionOf(policy->inputs, "user_id"), FieldAction::kHash);
  EXPECT_EQ(ActionOf(policy->inputs, "email"), FieldAction::kDrop);
  EXPECT_EQ(ActionOf(policy->outputs, "score"), FieldAction::kKeep);
  EXPECT_EQ(ActionOf(policy->inputs, "not_named"), FieldAction::kDrop);
  EXPECT_EQ(ActionOf(policy->outputs, "age"), FieldAction::kDrop);  // sections are apart
}

TEST(PayloadRedactionTest, RefusesAnUnknownActionOrSection) {
  absl::StatusOr<RedactionPolicy> bad = ParseRedactionPolicy("inputs:\n  age: show\n");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'age'"), std::string_view::npos) << bad.status();
  EXPECT_FALSE(ParseRedactionPolicy("input:\n  age: keep\n").ok());
  EXPECT_FALSE(ParseRedactionPolicy("inputs: [age]\n").ok());
  EXPECT_TRUE(ParseRedactionPolicy("").ok());  // everything dropped
}

TEST(PayloadRedactionTest, KeepsHashesAndDropsFields) {
  const FieldActions actions{
      {"age", FieldAction::kKeep}, {"user_id", FieldAction::kHash}, {"email", FieldAction::kDrop}};
  const RedactedFields redacted = RedactTensors(
      {Int64s("age", {31, 42}), Strings("user_id", {"alice", "bob"}),
       Strings("email", {"a@example.com", "b@example.com"}), Int64s("zip", {12345, 54321})},
      actions, FakeHash);
  EXPECT_EQ(redacted.json,
            R"j({"age":{"datatype":"INT64","shape":[2],"data":[31,42]},)j"
            R"j("user_id":{"datatype":"BYTES","shape":[2],"hash":["h(alice)","h(bob)"]}})j");
  EXPECT_EQ(redacted.dropped, (std::vector<std::string>{"email", "zip"}));
}

TEST(PayloadRedactionTest, HashesNumbersByTheirDecimalText) {
  const RedactedFields redacted =
      RedactTensors({Int64s("id", {-7})}, {{"id", FieldAction::kHash}}, FakeHash);
  EXPECT_EQ(redacted.json, R"j({"id":{"datatype":"INT64","shape":[1],"hash":["h(-7)"]}})j");
}

TEST(PayloadRedactionTest, WithoutAHasherAHashedFieldIsDropped) {
  const RedactedFields redacted =
      RedactTensors({Strings("user_id", {"alice"})}, {{"user_id", FieldAction::kHash}}, nullptr);
  EXPECT_EQ(redacted.json, "{}");
  EXPECT_EQ(redacted.dropped, std::vector<std::string>{"user_id"});
}

TEST(PayloadRedactionTest, EscapesKeptTextAndBoundsLongFields) {
  const RedactedFields quoted =
      RedactTensors({Strings("note", {"say \"hi\"\n"})}, {{"note", FieldAction::kKeep}}, FakeHash);
  EXPECT_EQ(quoted.json, R"({"note":{"datatype":"BYTES","shape":[1],"data":["say \"hi\"\n"]}})");
  const RedactedFields long_field =
      RedactTensors({Int64s("x", std::vector<int64_t>(kMaxLoggedElements + 5, 1))},
                    {{"x", FieldAction::kKeep}}, FakeHash);
  EXPECT_NE(long_field.json.find(R"("truncated":true)"), std::string::npos);
  EXPECT_LT(long_field.json.size(), 3 * kMaxLoggedElements);
}

}  // namespace
}  // namespace strata::api
