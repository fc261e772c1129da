#include "serving/static_answer_cache.h"

#include <cstring>
#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace strata::serving {
namespace {

core::InferResponse Answer(float value) {
  core::InferResponse r;
  r.model_name = "sales";
  r.model_version = "7";
  r.id = "request-1";
  r.has_id = true;
  core::Tensor t = core::Tensor::Zeros("units", core::DataType::kFp32, {1});
  std::memcpy(t.data.data(), &value, sizeof value);
  r.outputs.push_back(std::move(t));
  r.parameters["table"] = std::string("forecast");
  r.parameters["table_version"] = int64_t{7};
  return r;
}

TEST(StaticAnswerCacheTest, AnAnswerIsFoundUnderItsTokenAndKeyOnly) {
  StaticAnswerCache cache(64);
  const uint64_t token = StaticAnswerCache::NewToken();
  EXPECT_FALSE(cache.Put(token, "key-1", Answer(2.5f)));  // offered once: not kept
  EXPECT_EQ(cache.Find(token, "key-1"), nullptr);
  ASSERT_TRUE(cache.Put(token, "key-1", Answer(2.5f)));
  const core::InferResponse* kept = cache.Find(token, "key-1");
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->outputs[0].As<float>()[0], 2.5f);
  EXPECT_EQ(kept->parameters, Answer(2.5f).parameters);
  EXPECT_EQ(kept->model_version, "7");
  EXPECT_EQ(kept->id, "");  // a request's id is not part of the answer
  EXPECT_FALSE(kept->has_id);
  EXPECT_EQ(cache.Find(token, "key-2"), nullptr);
  EXPECT_EQ(cache.Find(StaticAnswerCache::NewToken(), "key-1"), nullptr);
  EXPECT_EQ(cache.Find(0, "key-1"), nullptr);
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.misses(), 4u);
}

TEST(StaticAnswerCacheTest, TokensAreNeverZeroAndNeverRepeat) {
  const uint64_t a = StaticAnswerCache::NewToken();
  const uint64_t b = StaticAnswerCache::NewToken();
  EXPECT_NE(a, 0u);
  EXPECT_NE(b, 0u);
  EXPECT_NE(a, b);
  StaticAnswerCache cache(8);
  EXPECT_FALSE(cache.Put(0, "key", Answer(1)));  // 0 means "do not keep"
}

TEST(StaticAnswerCacheTest, ANewAnswerReplacesTheOldOneForTheSameKey) {
  StaticAnswerCache cache(64);
  const uint64_t token = StaticAnswerCache::NewToken();
  cache.Put(token, "key", Answer(1));
  cache.Put(token, "key", Answer(1));
  cache.Put(token, "key", Answer(3));
  EXPECT_EQ(cache.Find(token, "key")->outputs[0].As<float>()[0], 3.0f);
  EXPECT_EQ(cache.entries(), 1u);
}

TEST(StaticAnswerCacheTest, HoldsNoMoreAnswersThanItHasSlots) {
  StaticAnswerCache cache(8);
  const uint64_t token = StaticAnswerCache::NewToken();
  for (int k = 0; k < 1000; ++k) {
    for (int offer = 0; offer < 2; ++offer) cache.Put(token, std::to_string(k), Answer(k));
  }
  EXPECT_LE(cache.entries(), 8u);
  int found = 0;
  for (int k = 0; k < 1000; ++k) {
    if (const core::InferResponse* kept = cache.Find(token, std::to_string(k))) {
      EXPECT_EQ(kept->outputs[0].As<float>()[0], static_cast<float>(k));  // never another key's
      ++found;
    }
  }
  EXPECT_GE(found, 1);
  EXPECT_LE(found, 8);
}

TEST(StaticAnswerCacheTest, AKeyDisplacesAnotherOnlyWhenOfferedTwiceInARow) {
  StaticAnswerCache cache(1);  // every key in the same slot
  const uint64_t token = StaticAnswerCache::NewToken();
  cache.Put(token, "hot", Answer(1));
  ASSERT_TRUE(cache.Put(token, "hot", Answer(1)));
  EXPECT_FALSE(cache.Put(token, "cold-1", Answer(2)));
  EXPECT_FALSE(cache.Put(token, "cold-2", Answer(3)));
  EXPECT_FALSE(cache.Put(token, "cold-1", Answer(2)));  // cold-2 came in between
  ASSERT_NE(cache.Find(token, "hot"), nullptr);
  EXPECT_TRUE(cache.Put(token, "cold-1", Answer(2)));  // twice in a row
  EXPECT_EQ(cache.Find(token, "hot"), nullptr);
  EXPECT_EQ(cache.Find(token, "cold-1")->outputs[0].As<float>()[0], 2.0f);
  EXPECT_EQ(cache.entries(), 1u);
}

TEST(StaticAnswerCacheTest, OversizedKeysAndAnswersAreNotKept) {
  StaticAnswerCache cache(64);
  const uint64_t token = StaticAnswerCache::NewToken();
  const std::string long_key(StaticAnswerCache::kMaxKeyBytes + 1, 'k');
  EXPECT_FALSE(cache.Put(token, long_key, Answer(1)));
  EXPECT_EQ(cache.Find(token, long_key), nullptr);
  core::InferResponse big = Answer(1);
  big.outputs[0].data.resize(StaticAnswerCache::kMaxAnswerBytes + 1);
  EXPECT_FALSE(cache.Put(token, "key", big));
  EXPECT_EQ(cache.Find(token, "key"), nullptr);
  EXPECT_EQ(cache.entries(), 0u);
}

TEST(StaticAnswerCacheTest, EachThreadHasItsOwnCache) {
  const uint64_t token = StaticAnswerCache::NewToken();
  StaticAnswerCache::ThisThread().Put(token, "key", Answer(1));
  ASSERT_TRUE(StaticAnswerCache::ThisThread().Put(token, "key", Answer(1)));
  EXPECT_NE(StaticAnswerCache::ThisThread().Find(token, "key"), nullptr);
  bool found_elsewhere = true;
  std::thread other(
      [&] { found_elsewhere = StaticAnswerCache::ThisThread().Find(token, "key") != nullptr; });
  other.join();
  EXPECT_FALSE(found_elsewhere);
  EXPECT_EQ(StaticAnswerCache::ThisThread().slots(), StaticAnswerCache::kSlots);
}

}  // namespace
}  // namespace strata::serving
