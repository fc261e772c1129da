#include "check/malformed_requests.h"

#include <set>

#include "check/json_tensor.h"
#include "gtest/gtest.h"

namespace strata::check {
namespace {

const std::vector<JsonTensor> kInputs = {{"features", "FP32", {2, 3}, {1, 2, 3, 4, 5, 6}}};

const MalformedRequest& Named(const std::vector<MalformedRequest>& set, const std::string& name) {
  for (const MalformedRequest& m : set) {
    if (m.name == name) return m;
  }
  ADD_FAILURE() << "no " << name;
  return set.front();
}

TEST(MalformedRequestsTest, HasTheFixedSetWithDistinctNames) {
  const auto set = MalformedRequests(kInputs);
  std::set<std::string> names;
  for (const auto& m : set) names.insert(m.name);
  EXPECT_EQ(names.size(), set.size());
  for (const char* name :
       {"bad_json", "wrong_datatype", "wrong_shape", "unknown_input", "missing_input", "huge_shape",
        "wrong_content_type", "truncated_binary"}) {
    EXPECT_TRUE(names.count(name)) << name;
  }
}

TEST(MalformedRequestsTest, EachChangesOneThingOfAValidRequest) {
  const auto set = MalformedRequests(kInputs);
  auto parse = [&](const char* name) { return ParseTensors(Named(set, name).body, "inputs"); };
  EXPECT_FALSE(parse("bad_json").ok());
  EXPECT_EQ((*parse("wrong_shape"))[0].shape, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ((*parse("wrong_shape"))[0].data.size(), 6u);
  EXPECT_EQ((*parse("wrong_datatype"))[0].datatype, "INT64");
  EXPECT_EQ((*parse("unknown_input"))[0].name, "no_such_input");
  EXPECT_EQ((*parse("huge_shape"))[0].shape[0], int64_t{1} << 40);
  EXPECT_TRUE(parse("missing_input")->empty());
}

TEST(MalformedRequestsTest, TruncatedBinaryPromisesMoreBytesThanFollow) {
  const auto set = MalformedRequests(kInputs);
  const MalformedRequest& m = Named(set, "truncated_binary");
  size_t header_length = 0;
  for (const auto& [name, value] : m.headers) {
    if (name == "Inference-Header-Content-Length") header_length = std::stoul(value);
  }
  ASSERT_GT(header_length, 0u);
  EXPECT_NE(m.body.substr(0, header_length).find("\"binary_data_size\":4096"), std::string::npos);
  EXPECT_LT(m.body.size() - header_length, 4096u);
}

}  // namespace
}  // namespace strata::check
