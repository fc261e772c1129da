// Each stage on its own over a hand-made RowBatch, and a hybrid and a
// dynamic endpoint over a counting fake ModelRunner: one version lookup and
// one validation per request.
#include <cstring>
#include <future>

#include "gtest/gtest.h"
#include "serving/hybrid_endpoint.h"
#include "serving/model_repository.h"
#include "serving/plans/cache_stage.h"
#include "serving/plans/default_stage.h"
#include "serving/plans/model_stage.h"
#include "serving/plans/plan_builder.h"
#include "serving/plans/row_layout.h"
#include "serving/plans/table_stage.h"
#include "serving/request_validator.h"
#include "store/memory_table_store.h"

namespace strata::serving {
namespace {

std::string Key(int64_t id) {
  std::string key;
  store::KeySchema::AppendInt(id, key);
  return key;
}

std::string Floats(float a, float b) {
  const float y[2] = {a, b};
  return std::string(reinterpret_cast<const char*>(y), sizeof y);
}

// y = 2 * x, rows of two floats.
class DoublingModel : public runtime::Model {
 public:
  absl::StatusOr<std::vector<core::Tensor>> Run(std::span<const core::Tensor> inputs) override {
    core::Tensor y = inputs[0];
    y.name = "y";
    for (float& v : y.MutableAs<float>()) v *= 2;
    return std::vector<core::Tensor>{std::move(y)};
  }
};

std::shared_ptr<const ServedModel> Doubling(int64_t version) {
  auto served = std::make_shared<ServedModel>();
  served->name = "good";
  served->version = version;
  served->versions = {version};
  served->config.name = "good";
  served->config.max_batch_size = 64;
  served->config.inputs = {{"x", core::DataType::kFp32, {-1, 2}}};
  served->config.outputs = {{"y", core::DataType::kFp32, {-1, 2}}};
  served->model = std::make_shared<DoublingModel>();
  return served;
}

// Counts what a plan asks of the model port.
class CountingRunner : public ModelRunner {
 public:
  absl::StatusOr<std::shared_ptr<const ServedModel>> Find(std::string_view,
                                                          std::string_view) const override {
    ++finds;
    return served;
  }
  absl::Status Validate(const ServedModel& version, core::InferRequest& request) const override {
    ++validations;
    return ValidateAndOrderInputs(version.config, request);
  }
  void Run(std::shared_ptr<const ServedModel> version, core::InferRequest request,
           Done done) const override {
    ++runs;
    rows_run += static_cast<size_t>(request.inputs[0].shape[0]);
    absl::StatusOr<std::vector<core::Tensor>> out = version->model->Run(request.inputs);
    if (!out.ok()) return done(out.status());
    core::InferResponse response;
    response.model_name = version->name;
    response.model_version = std::to_string(version->version);
    response.outputs = *std::move(out);
    done(std::move(response));
  }

  std::shared_ptr<const ServedModel> served = Doubling(10);
  mutable int finds = 0, validations = 0, runs = 0;
  mutable size_t rows_run = 0;
};

core::Tensor Xs(const std::vector<float>& firsts) {
  core::Tensor x =
      core::Tensor::Zeros("x", core::DataType::kFp32, {static_cast<int64_t>(firsts.size()), 2});
  for (size_t i = 0; i < firsts.size(); ++i) {
    x.MutableAs<float>()[2 * i] = firsts[i];
    x.MutableAs<float>()[2 * i + 1] = 1;
  }
  return x;
}

// A table of ids 0..4 with y = (100 + id, 100 + id), produced by good:10.
std::shared_ptr<store::MemoryTableStore> HeadTable() {
  auto s = std::make_shared<store::MemoryTableStore>();
  auto builder = *s->NewBuilder("head", "");
  for (int64_t id = 0; id < 5; ++id) {
    const float v = 100.0f + static_cast<float>(id);
    EXPECT_TRUE(builder->Add(Key(id), Floats(v, v)).ok());
  }
  store::TableManifest m;
  m.table = "head";
  m.model_name = "good";
  m.model_version = 10;
  m.key = *store::KeySchema::Parse("id:INT64");
  m.outputs = {{"y", core::DataType::kFp32, {2}}};
  m.rows = 5;
  EXPECT_TRUE(s->SetCurrentVersion("head", *builder->Commit(m)).ok());
  return s;
}

// A batch of `ids` for the doubling model, x = (id, 1) per row.
std::shared_ptr<RowBatch> Batch(const std::vector<int64_t>& ids,
                                std::shared_ptr<const store::PredictionTable> table = nullptr) {
  auto batch = std::make_shared<RowBatch>();
  batch->endpoint = "scores";
  std::vector<float> firsts;
  for (int64_t id : ids) {
    batch->keys.push_back(Key(id));
    firsts.push_back(static_cast<float>(id));
  }
  batch->key_schema = *store::KeySchema::Parse("id:INT64");
  batch->model = Doubling(10);
  batch->model_inputs = {Xs(firsts)};
  batch->table = std::move(table);
  batch->Reset(*ModelLayout(batch->model->config, "good", 10,
                            batch->table ? &batch->table->manifest() : nullptr));
  return batch;
}

absl::Status RunStage(const Stage& stage, std::shared_ptr<RowBatch> batch) {
  std::promise<absl::Status> done;
  stage.Run(std::move(batch), [&done](absl::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

std::vector<float> Answers(RowBatch& batch) {
  const float* v = reinterpret_cast<const float*>(batch.values.data());
  return std::vector<float>(v, v + batch.values.size() / sizeof(float));
}

TEST(TableStageTest, AnswersTheRowsInTheTableAndLeavesTheRest) {
  LayerRecorder recorder;
  auto table = *HeadTable()->Open("head", 1);
  auto batch = Batch({1, 7, 3}, table);
  ASSERT_TRUE(RunStage(TableStage(recorder, false), batch).ok());
  EXPECT_EQ(batch->layers, (std::vector<Layer>{Layer::kTable, Layer::kNone, Layer::kTable}));
  EXPECT_EQ(Answers(*batch), (std::vector<float>{101, 101, 0, 0, 103, 103}));
  EXPECT_TRUE(batch->table_answered);
}

// A table whose store cannot be asked.
class DownTable : public store::PredictionTable {
 public:
  explicit DownTable(store::TableManifest m) : manifest_(std::move(m)) {}
  const store::TableManifest& manifest() const override { return manifest_; }
  absl::StatusOr<store::LookupResult> MultiGet(std::span<const std::string>) const override {
    return absl::UnavailableError("store is down");
  }
  absl::Status Scan(const Visitor&) const override { return absl::UnavailableError("down"); }

 private:
  store::TableManifest manifest_;
};

TEST(TableStageTest, AStoreThatIsDownDegradesOrFailsAsConfigured) {
  LayerRecorder recorder;
  auto down = std::make_shared<DownTable>((*HeadTable()->Open("head", 1))->manifest());
  auto batch = Batch({1, 2}, down);
  ASSERT_TRUE(RunStage(TableStage(recorder, false), batch).ok());
  EXPECT_TRUE(batch->degraded);
  EXPECT_EQ(batch->Count(Layer::kNone), 2);
  absl::Status failed = RunStage(TableStage(recorder, true), Batch({1}, down));
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(failed.message().find("endpoint 'scores': store is down"), std::string_view::npos);
}

TEST(CacheStageTest, AnswersCachedRowsAndFillsWhatTheModelComputed) {
  LayerRecorder recorder;
  PredictionCache cache(PredictionCacheOptions{.max_bytes = 1 << 20});
  auto batch = Batch({1, 2});
  cache.Put(batch->layout->cache_prefix + Key(2), Floats(5, 6));
  ASSERT_TRUE(RunStage(CacheStage(cache, recorder), batch).ok());
  EXPECT_EQ(batch->layers, (std::vector<Layer>{Layer::kNone, Layer::kCache}));
  EXPECT_EQ(Answers(*batch), (std::vector<float>{0, 0, 5, 6}));
  std::memcpy(batch->Row(0), Floats(7, 8).data(), 8);
  batch->model_rows = {0};
  ASSERT_TRUE(RunStage(CacheFillStage(cache), batch).ok());
  std::string value;
  ASSERT_TRUE(cache.Get(batch->layout->cache_prefix + Key(1), value));
  EXPECT_EQ(value, Floats(7, 8));
}

TEST(ModelStageTest, RunsEachDistinctUnansweredKeyOnceAndValidatesOnce) {
  CountingRunner runner;
  LayerRecorder recorder;
  auto batch = Batch({4, 9, 4, 5});
  batch->layers[3] = Layer::kCache;
  ASSERT_TRUE(RunStage(ModelStage(runner, recorder), batch).ok());
  EXPECT_EQ(runner.runs, 1);
  EXPECT_EQ(runner.validations, 1);
  EXPECT_EQ(runner.rows_run, 2u);  // keys 4 and 9
  EXPECT_EQ(batch->model_rows, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(batch->layers,
            (std::vector<Layer>{Layer::kModel, Layer::kModel, Layer::kModel, Layer::kCache}));
  EXPECT_EQ(Answers(*batch), (std::vector<float>{8, 2, 18, 2, 8, 2, 0, 0}));
  // Inputs the plan validated already are not validated again.
  auto validated = Batch({1});
  validated->inputs_validated = true;
  ASSERT_TRUE(RunStage(ModelStage(runner, recorder), validated).ok());
  EXPECT_EQ(runner.validations, 1);
}

TEST(DefaultStageTest, AnswersEveryRowLeftWithTheDefault) {
  LayerRecorder recorder;
  auto batch = Batch({1, 2});
  batch->layers[0] = Layer::kTable;
  ASSERT_TRUE(RunStage(DefaultStage(0.5, recorder), batch).ok());
  EXPECT_EQ(batch->layers, (std::vector<Layer>{Layer::kTable, Layer::kDefault}));
  EXPECT_EQ(Answers(*batch), (std::vector<float>{0, 0, 0.5, 0.5}));
}

TEST(RowBatchTest, KeyTextsAreMadeFromTheKeyBytes) {
  auto batch = Batch({7, -3});
  EXPECT_EQ(batch->KeyTexts(), (std::vector<std::string>{"{\"id\":7}", "{\"id\":-3}"}));
}

absl::StatusOr<core::InferResponse> Call(const Endpoint& endpoint, core::InferRequest request) {
  std::promise<absl::StatusOr<core::InferResponse>> done;
  endpoint.InferAsync(std::move(request), [&done](absl::StatusOr<core::InferResponse> r) {
    done.set_value(std::move(r));
  });
  return done.get_future().get();
}

TEST(HybridPlanTest, ARequestLooksItsModelVersionUpOnceAndValidatesOnce) {
  CountingRunner runner;
  HybridEndpoint endpoint({.name = "scores",
                           .model = "good",
                           .table = "head",
                           .key = {"id"},
                           .cache_max_bytes = 1 << 20},
                          HeadTable());
  endpoint.Connect({.models = &runner, .metrics = nullptr, .rows = nullptr});
  core::InferRequest request;
  request.model_name = "scores";
  core::Tensor id = core::Tensor::Zeros("id", core::DataType::kInt64, {3});
  const int64_t ids[3] = {1, 7, 8};
  std::memcpy(id.data.data(), ids, sizeof ids);
  request.inputs = {Xs({1, 7, 8}), id};
  absl::StatusOr<core::InferResponse> r = Call(endpoint, request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(runner.finds, 1);
  EXPECT_EQ(runner.validations, 1);
  EXPECT_EQ(runner.runs, 1);
  EXPECT_EQ(std::get<int64_t>(r->parameters.at("layer_model")), 2);
  EXPECT_EQ(r->model_version, "10");
}

TEST(DynamicPlanTest, KeysAreTheValidatedInputsAndAreNotValidatedAgain) {
  CountingRunner runner;
  HybridEndpoint endpoint({.name = "good",
                           .model = "good",
                           .table = "",
                           .key = {},
                           .cache_max_bytes = 1 << 20,
                           .plan = PlanKind::kDynamic},
                          nullptr);
  endpoint.Connect({.models = &runner, .metrics = nullptr, .rows = nullptr});
  core::InferRequest request;
  request.model_name = "good";
  request.inputs = {Xs({1, 2, 1})};
  ASSERT_TRUE(Call(endpoint, request).ok());
  EXPECT_EQ(runner.finds, 1);
  EXPECT_EQ(runner.validations, 1);
  EXPECT_EQ(runner.rows_run, 2u);
}

}  // namespace
}  // namespace strata::serving
