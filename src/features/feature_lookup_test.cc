#include "features/feature_lookup.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "features/feature_row_codec.h"
#include "store/memory_table_store.h"

namespace strata::features {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kNow = 1700000000;

// A feature table version in memory that can fail, or answer on another
// thread; counts its multi-gets.
class FakeTable : public store::PredictionTable {
 public:
  explicit FakeTable(int64_t version) { manifest_.version = version; }
  // The last reference may be dropped by the lookup on one of this table's
  // own threads, once its callback has run: that thread cannot join itself.
  ~FakeTable() override {
    for (std::thread& thread : threads_) {
      if (thread.get_id() == std::this_thread::get_id()) {
        thread.detach();
      } else {
        thread.join();
      }
    }
  }

  std::map<std::string, std::string, std::less<>> rows;
  absl::Status failure;
  bool on_another_thread = false;
  mutable std::atomic<int> calls{0};

  const store::TableManifest& manifest() const override { return manifest_; }
  absl::StatusOr<store::LookupResult> MultiGet(std::span<const std::string> keys) const override {
    if (!failure.ok()) return failure;
    store::LookupResult result;
    for (const std::string& key : keys) {
      auto it = rows.find(key);
      result.found.push_back(it != rows.end());
      result.values.push_back(it != rows.end() ? it->second : std::string());
    }
    return result;
  }
  void MultiGetAsync(std::span<const std::string> keys, LookupCallback done) const override {
    ++calls;
    if (!on_another_thread) {
      done(MultiGet(keys));
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    threads_.emplace_back([this, keys, done = std::move(done)] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      done(MultiGet(keys));
    });
  }
  absl::Status Scan(const Visitor&) const override { return absl::UnimplementedError("scan"); }

 private:
  store::TableManifest manifest_;
  mutable std::mutex mutex_;
  mutable std::vector<std::thread> threads_;
};

class FakeSource : public FeatureTableSource {
 public:
  std::map<std::string, std::shared_ptr<const store::PredictionTable>, std::less<>> tables;
  std::shared_ptr<const store::PredictionTable> Current(std::string_view table) const override {
    auto it = tables.find(table);
    return it == tables.end() ? nullptr : it->second;
  }
};

std::string ExampleYaml() {
  const char* source = std::getenv("STRATA_SOURCE_DIR");
  std::ifstream in(std::string(source ? source : ".") +
                   "/src/features/testdata/example_features.yaml");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::shared_ptr<const FeaturePipeline> Example(std::string_view policy = "impute") {
  std::string yaml = ExampleYaml();
  const std::string from = "on_store_error: impute";
  yaml.replace(yaml.find(from), from.size(), "on_store_error: " + std::string(policy));
  auto definition = ParseFeatureDefinition(yaml);
  EXPECT_TRUE(definition.ok()) << definition.status();
  return *FeaturePipeline::Create(*definition);
}

std::string Key(int64_t id) {
  std::string key;
  store::KeySchema::AppendInt(id, key);
  return key;
}

class FeatureLookupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pipeline_ = Example();
    user_stats_ = std::make_shared<FakeTable>(3);
    product_info_ = std::make_shared<FakeTable>(5);
    const FeatureDefinition& def = pipeline_->definition();
    const auto& stats = def.FindTable("user_stats")->columns;
    user_stats_->rows[Key(42)] = EncodeFeatureRow(
        stats, std::vector<FeatureValue>{4.7, 20.0, int64_t{kNow - 7200}, std::string("fr")},
        kNow - 3600);
    user_stats_->rows[Key(44)] =
        EncodeFeatureRow(stats, std::vector<FeatureValue>{1.0, 2.0, int64_t{0}, std::string("de")},
                         kNow - 86401);  // older than max_age
    product_info_->rows[Key(7)] =
        EncodeFeatureRow(def.FindTable("product_info")->columns,
                         std::vector<FeatureValue>{30.0, std::string("toys")}, 1);
    source_.tables["user_stats"] = user_stats_;
    source_.tables["product_info"] = product_info_;
  }

  RawRows Rows(std::vector<int64_t> users) const {
    RawRows rows(users.size(), pipeline_->slots().size());
    for (size_t r = 0; r < users.size(); ++r) {
      rows.At(r, pipeline_->SlotOf("user", "user_id")) = users[r];
      rows.At(r, pipeline_->SlotOf("product", "product_id")) = int64_t{7};
      rows.At(r, pipeline_->SlotOf("request", "ts")) = kNow;
      rows.At(r, pipeline_->SlotOf("request", "query")) = std::string("q");
    }
    return rows;
  }

  const FeatureValue& At(const RawRows& rows, size_t row, std::string_view table,
                         std::string_view column) const {
    return rows.At(row, pipeline_->SlotOf(table, column));
  }

  std::shared_ptr<const FeaturePipeline> pipeline_;
  std::shared_ptr<FakeTable> user_stats_, product_info_;
  FakeSource source_;
};

TEST_F(FeatureLookupTest, FillsFoundRowsAndReportsMissingAndStale) {
  FeatureLookup lookup(pipeline_);
  RawRows rows = Rows({42, 43, 44});
  rows.At(1, pipeline_->SlotOf("user_stats", "country")) = std::string("left over");
  auto report = lookup.Fill(source_, rows, kNow);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->found, ElementsAre(1, 3));
  EXPECT_THAT(report->missing, ElementsAre(1, 0));
  EXPECT_THAT(report->stale, ElementsAre(1, 0));
  EXPECT_THAT(report->unavailable, ElementsAre(0, 0));
  EXPECT_THAT(report->versions, ElementsAre(3, 5));
  EXPECT_EQ(At(rows, 0, "user_stats", "purchases_30d"), FeatureValue(4.7));
  EXPECT_EQ(At(rows, 0, "user_stats", "country"), FeatureValue(std::string("fr")));
  EXPECT_TRUE(IsMissing(At(rows, 1, "user_stats", "country")));        // reset
  EXPECT_TRUE(IsMissing(At(rows, 2, "user_stats", "purchases_30d")));  // stale
  EXPECT_EQ(At(rows, 2, "product_info", "category"), FeatureValue(std::string("toys")));
  // One multi-get per table, whatever the number of rows and features.
  EXPECT_EQ(user_stats_->calls.load(), 1);
  EXPECT_EQ(product_info_->calls.load(), 1);
  // The filled rows go through the pipeline.
  auto tensors = pipeline_->Assemble(rows);
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  EXPECT_EQ((*tensors)[0].As<float>()[0], static_cast<float>((4.7 - 3.2) / 1.5));
}

TEST_F(FeatureLookupTest, AnUnreadableTableIsImputedUnderImpute) {
  user_stats_->failure = absl::UnavailableError("redis down");
  FeatureLookup lookup(pipeline_);
  RawRows rows = Rows({42});
  auto report = lookup.Fill(source_, rows, kNow);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->unavailable, ElementsAre(1, 0));
  EXPECT_THAT(report->found, ElementsAre(0, 1));
  EXPECT_TRUE(IsMissing(At(rows, 0, "user_stats", "purchases_30d")));
  source_.tables.erase("user_stats");  // no open version: the same answer
  report = lookup.Fill(source_, rows, kNow);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->unavailable, ElementsAre(1, 0));
  EXPECT_THAT(report->versions, ElementsAre(0, 5));
}

TEST_F(FeatureLookupTest, AnUnreadableTableFailsUnderUnavailable) {
  pipeline_ = Example("unavailable");
  user_stats_->failure = absl::UnavailableError("redis down");
  FeatureLookup lookup(pipeline_);
  RawRows rows = Rows({42});
  auto report = lookup.Fill(source_, rows, kNow);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(report.status().message()), HasSubstr("'user_stats'"));
  EXPECT_THAT(std::string(report.status().message()), HasSubstr("redis down"));
  source_.tables.erase("user_stats");
  EXPECT_EQ(lookup.Fill(source_, rows, kNow).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(FeatureLookupTest, JoinsCallbacksFromOtherThreads) {
  user_stats_->on_another_thread = true;
  product_info_->on_another_thread = true;
  FeatureLookup lookup(pipeline_);
  RawRows rows = Rows({42, 43});
  std::atomic<int> calls{0};
  std::promise<absl::StatusOr<LookupReport>> answer;
  lookup.FillAsync(source_, rows, kNow, [&](absl::StatusOr<LookupReport> report) {
    ++calls;
    answer.set_value(std::move(report));
  });
  auto report = answer.get_future().get();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->found, ElementsAre(1, 2));
  EXPECT_EQ(At(rows, 0, "product_info", "price"), FeatureValue(30.0));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(calls.load(), 1);
  // The synchronous form waits for them too.
  RawRows again = Rows({42});
  ASSERT_TRUE(lookup.Fill(source_, again, kNow).ok());
  EXPECT_EQ(At(again, 0, "user_stats", "avg_price"), FeatureValue(20.0));
}

TEST_F(FeatureLookupTest, NoRowsIsAnEmptyReport) {
  FeatureLookup lookup(pipeline_);
  RawRows rows = Rows({});
  auto report = lookup.Fill(source_, rows, kNow);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->found, ElementsAre(0, 0));
  EXPECT_THAT(report->versions, ElementsAre(3, 5));
}

TEST_F(FeatureLookupTest, AMissingKeyIsNamed) {
  FeatureLookup lookup(pipeline_);
  RawRows rows = Rows({42, 43});
  rows.At(1, pipeline_->SlotOf("user", "user_id")) = std::monostate();
  auto report = lookup.Fill(source_, rows, kNow);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(report.status().message()),
              HasSubstr("row 1: key 'user.user_id' is missing"));
  rows.At(1, pipeline_->SlotOf("user", "user_id")) = std::string("43");
  EXPECT_THAT(std::string(lookup.Fill(source_, rows, kNow).status().message()),
              HasSubstr("key 'user.user_id' must be an INT64"));
  EXPECT_EQ(user_stats_->calls.load(), 0);
}

TEST_F(FeatureLookupTest, ACorruptRowIsDataLoss) {
  product_info_->rows[Key(7)] = "garbage";
  FeatureLookup lookup(pipeline_);
  RawRows rows = Rows({42});
  auto report = lookup.Fill(source_, rows, kNow);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(report.status().message()), HasSubstr("'product_info'"));
}

TEST(EntityKeyTest, IsTheKeySchemaEncoding) {
  const Entity pair{"pair", {{"shop", ValueType::kString}, {"item", ValueType::kInt64}}};
  auto key = EncodeEntityKey(pair, std::vector<FeatureValue>{std::string("s1"), int64_t{-3}});
  ASSERT_TRUE(key.ok()) << key.status();
  std::string expected;
  store::KeySchema::AppendBytes("s1", expected);
  store::KeySchema::AppendInt(-3, expected);
  EXPECT_EQ(*key, expected);
  const store::KeySchema schema = EntityKeySchema(pair);
  EXPECT_EQ(schema.ToString(), "shop:BYTES,item:INT64");
  auto decoded = schema.Decode(*key);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::get<std::string>((*decoded)[0]), "s1");
  // An integral double is the integer; anything else is refused by name.
  EXPECT_EQ(*EncodeEntityKey(pair, std::vector<FeatureValue>{std::string("s1"), -3.0}), expected);
  EXPECT_THAT(std::string(EncodeEntityKey(pair, std::vector<FeatureValue>{std::string("s1"), 2.5})
                              .status()
                              .message()),
              HasSubstr("'pair.item'"));
  EXPECT_FALSE(EncodeEntityKey(pair, std::vector<FeatureValue>{int64_t{1}, int64_t{2}}).ok());
  EXPECT_FALSE(EncodeEntityKey(pair, std::vector<FeatureValue>{std::string("")}).ok());
}

TEST(FeatureLookupStoreTest, ReadsAMemoryTableStoreVersion) {
  auto pipeline = Example();
  const FeatureDefinition& def = pipeline->definition();
  store::MemoryTableStore store;
  FakeSource source;
  for (const FeatureTable& table : def.tables) {
    auto builder = store.NewBuilder(table.name, ::testing::TempDir());
    ASSERT_TRUE(builder.ok()) << builder.status();
    std::vector<FeatureValue> values(table.columns.size());
    values[0] = 11.0;
    ASSERT_TRUE((*builder)->Add(Key(7), EncodeFeatureRow(table.columns, values, kNow)).ok());
    store::TableManifest manifest;
    manifest.table = table.name;
    manifest.key = EntityKeySchema(*def.FindEntity(table.entity));
    auto version = (*builder)->Commit(manifest);
    ASSERT_TRUE(version.ok()) << version.status();
    auto opened = store.Open(table.name, *version);
    ASSERT_TRUE(opened.ok()) << opened.status();
    source.tables[table.name] = *opened;
  }
  FeatureLookup lookup(pipeline);
  RawRows rows(2, pipeline->slots().size());
  for (size_t r = 0; r < 2; ++r) {
    rows.At(r, pipeline->SlotOf("user", "user_id")) = int64_t{7 + static_cast<int64_t>(r)};
    rows.At(r, pipeline->SlotOf("product", "product_id")) = int64_t{7};
  }
  auto report = lookup.Fill(source, rows, kNow);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->found, ElementsAre(1, 2));
  EXPECT_EQ(rows.At(0, pipeline->SlotOf("user_stats", "purchases_30d")), FeatureValue(11.0));
  EXPECT_EQ(rows.At(1, pipeline->SlotOf("product_info", "price")), FeatureValue(11.0));
}

}  // namespace
}  // namespace strata::features
