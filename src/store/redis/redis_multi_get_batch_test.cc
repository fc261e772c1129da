#include "store/redis/redis_multi_get_batch.h"

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace strata::store {
namespace {

using Values = std::vector<std::optional<std::string_view>>;

TEST(RedisMultiGetBatch, OneMgetHoldsEveryLookupsKeysUnderTheirPrefixesInOrder) {
  RedisMultiGetBatch batch;
  const std::vector<std::string> users = {"u1", "u2"};
  const std::vector<std::string> items = {"i9"};
  EXPECT_EQ(batch.Add("t:users:v3:k:", users), 0u);
  EXPECT_EQ(batch.Add("t:items:v1:k:", items), 1u);
  EXPECT_EQ(batch.lookups(), 2u);
  EXPECT_EQ(batch.keys(), 3u);
  const std::vector<std::string_view> expected = {"MGET", "t:users:v3:k:u1", "t:users:v3:k:u2",
                                                  "t:items:v1:k:i9"};
  EXPECT_EQ(batch.Command(), expected);
}

TEST(RedisMultiGetBatch, SplitHandsEachLookupItsOwnValuesAndMisses) {
  RedisMultiGetBatch batch;
  const std::vector<std::string> a = {"1", "2", "3"};
  const std::vector<std::string> b = {"4"};
  const std::vector<std::string> c = {"5", "6"};
  batch.Add("p:", a);
  batch.Add("q:", b);
  batch.Add("p:", c);
  const Values reply = {"a1", std::nullopt, "a3", std::nullopt, "c5", std::string_view("")};
  absl::StatusOr<std::vector<LookupResult>> split = batch.Split(reply);
  ASSERT_TRUE(split.ok()) << split.status();
  ASSERT_EQ(split->size(), 3u);
  EXPECT_EQ((*split)[0].values, (std::vector<std::string>{"a1", "", "a3"}));
  EXPECT_EQ((*split)[0].found, (std::vector<uint8_t>{1, 0, 1}));
  EXPECT_EQ((*split)[1].values, (std::vector<std::string>{""}));
  EXPECT_EQ((*split)[1].found, (std::vector<uint8_t>{0}));
  // An empty value is found, not missing.
  EXPECT_EQ((*split)[2].values, (std::vector<std::string>{"c5", ""}));
  EXPECT_EQ((*split)[2].found, (std::vector<uint8_t>{1, 1}));
}

TEST(RedisMultiGetBatch, ALookupOfNoKeysGetsAnEmptyResultBetweenOthers) {
  RedisMultiGetBatch batch;
  const std::vector<std::string> none;
  const std::vector<std::string> one = {"k"};
  batch.Add("p:", one);
  batch.Add("p:", none);
  batch.Add("p:", one);
  absl::StatusOr<std::vector<LookupResult>> split = batch.Split(Values{"x", "y"});
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_EQ((*split)[0].values, (std::vector<std::string>{"x"}));
  EXPECT_TRUE((*split)[1].values.empty());
  EXPECT_TRUE((*split)[1].found.empty());
  EXPECT_EQ((*split)[2].values, (std::vector<std::string>{"y"}));
}

TEST(RedisMultiGetBatch, OnlyEmptyLookupsNeedNoReply) {
  RedisMultiGetBatch batch;
  batch.Add("p:", std::vector<std::string>{});
  EXPECT_EQ(batch.keys(), 0u);
  absl::StatusOr<std::vector<LookupResult>> split = batch.Split({});
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->size(), 1u);
}

TEST(RedisMultiGetBatch, AReplyOfTheWrongLengthIsAnError) {
  RedisMultiGetBatch batch;
  batch.Add("p:", std::vector<std::string>{"a", "b"});
  absl::StatusOr<std::vector<LookupResult>> split = batch.Split(Values{"x"});
  EXPECT_EQ(split.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(split.status().message().find("2 keys answered 1"), std::string::npos);
}

TEST(RedisMultiGetBatch, ClearStartsAnEmptyBatch) {
  RedisMultiGetBatch batch;
  batch.Add("p:", std::vector<std::string>{"a"});
  batch.Clear();
  EXPECT_EQ(batch.lookups(), 0u);
  EXPECT_EQ(batch.keys(), 0u);
  EXPECT_EQ(batch.Add("p:", std::vector<std::string>{"b"}), 0u);
}

}  // namespace
}  // namespace strata::store
