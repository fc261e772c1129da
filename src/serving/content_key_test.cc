// A row without key columns has one content key (serving/row_keys.h): its
// validated input bytes, by which a dynamic plan's cache keys it, and whose
// fingerprint the live sketch counts, the same on a model's own endpoint as
// on a dynamic plan in front of it.
#include <algorithm>
#include <cstring>

#include "core/fingerprint.h"
#include "gtest/gtest.h"
#include "serving/hybrid_endpoint.h"
#include "serving/row_keys.h"
#include "serving/server_core.h"
#include "serving/testing/fake_repository.h"

namespace strata::serving {
namespace {
namespace fs = std::filesystem;

// Rows of the doubling model's input x: FP32 [n, 2], row i = {firsts[i], 1}.
core::Tensor X(const std::vector<float>& firsts) {
  core::Tensor x =
      core::Tensor::Zeros("x", core::DataType::kFp32, {static_cast<int64_t>(firsts.size()), 2});
  for (size_t i = 0; i < firsts.size(); ++i) {
    x.MutableAs<float>()[2 * i] = firsts[i];
    x.MutableAs<float>()[2 * i + 1] = 1;
  }
  return x;
}

core::InferRequest Rows(std::string name, const std::vector<float>& firsts) {
  core::InferRequest r;
  r.model_name = std::move(name);
  r.inputs = {X(firsts)};
  return r;
}

// The sketch's heavy keys of `name` and their counts, sorted by key.
std::vector<std::pair<std::string, uint64_t>> SketchedKeys(const ServerCore& core,
                                                           std::string_view name) {
  absl::StatusOr<advisor::WorkloadSnapshot> snapshot = core.LiveWorkload(name, true);
  EXPECT_TRUE(snapshot.ok()) << snapshot.status();
  if (!snapshot.ok()) return {};
  EXPECT_TRUE(snapshot->hashed_keys);
  std::vector<std::pair<std::string, uint64_t>> keys;
  for (const advisor::HeavyHitter& h : snapshot->sketch.Stats().top) {
    keys.emplace_back(h.key, h.count);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

TEST(ContentKeyTest, TheFingerprintIsOfTheRowsInputBytes) {
  absl::StatusOr<std::vector<std::string>> keys = RowInputKeys({X({1, 2})});
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  const float row0[2] = {1, 1};
  EXPECT_EQ((*keys)[0], std::string(reinterpret_cast<const char*>(row0), sizeof row0));
  const std::vector<std::string> fingerprints = ContentFingerprints(*keys);
  ASSERT_EQ(fingerprints.size(), 2u);
  EXPECT_EQ(fingerprints[0], core::FingerprintHex(core::Fingerprint64((*keys)[0])));
  EXPECT_NE(fingerprints[0], fingerprints[1]);
}

// The same rows sent to the model's own endpoint and to a dynamic plan in
// front of it: the plan caches one entry per distinct content key, and both
// sketches count the fingerprints of exactly those keys.
TEST(ContentKeyTest, TheCacheAndBothSketchesUseOneKeyPerRow) {
  const fs::path root = fs::path(::testing::TempDir()) / "content_key_one_key";
  testing::MakeFakeRepository(root);
  auto endpoint = std::make_shared<HybridEndpoint>(
      HybridEndpointConfig{.name = "cached",
                           .model = "good",
                           .table = "",
                           .key = {},
                           .cache_max_bytes = 1 << 20,
                           .cache_ttl = std::chrono::nanoseconds(0),
                           .plan = PlanKind::kDynamic},
      nullptr);
  const runtime::BackendRegistry backends = testing::FakeBackends();
  absl::StatusOr<std::unique_ptr<ServerCore>> core = ServerCore::Create(
      {.repository = root, .poll_interval = std::chrono::milliseconds(0), .endpoints = {endpoint}},
      backends);
  ASSERT_TRUE(core.ok()) << core.status();
  const std::vector<float> firsts = {1, 2, 1, 1};
  absl::StatusOr<core::InferResponse> cached = (*core)->Infer(Rows("cached", firsts));
  ASSERT_TRUE(cached.ok()) << cached.status();
  ASSERT_TRUE((*core)->Infer(Rows("good", firsts)).ok());

  // The content keys of the validated rows: 2 distinct, the first 3 times.
  absl::StatusOr<std::vector<std::string>> keys = RowInputKeys({X(firsts)});
  ASSERT_TRUE(keys.ok()) << keys.status();
  const std::vector<std::string> fingerprints = ContentFingerprints(*keys);
  std::vector<std::pair<std::string, uint64_t>> expected = {{fingerprints[0], 3},
                                                            {fingerprints[1], 1}};
  std::sort(expected.begin(), expected.end());

  EXPECT_EQ(endpoint->cache_stats().inserts, 2u);  // one entry per distinct content key
  EXPECT_EQ(SketchedKeys(**core, "cached"), expected);
  EXPECT_EQ(SketchedKeys(**core, "good"), expected);
}

}  // namespace
}  // namespace strata::serving
