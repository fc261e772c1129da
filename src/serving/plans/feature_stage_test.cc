// The feature stage over fakes: a counting fake feature table (one
// multi-get per table per request, whatever the number of features),
// imputation, required inputs, bad input named, the deadline and the
// tables' policies, load-time refusals, and the stage inside a dynamic plan.
#include <future>
#include <map>
#include <thread>

#include "features/feature_row_codec.h"
#include "gtest/gtest.h"
#include "serving/feature_model_call.h"
#include "serving/model_repository.h"
#include "serving/plans/plan_builder.h"
#include "serving/plans/row_layout.h"
#include "serving/request_validator.h"
#include "serving/served_features.h"
#include "serving/server_metrics.h"

namespace strata::serving {
namespace {

constexpr char kYaml[] = R"(
entities:
  user: {keys: [user_id]}
key_types: {user_id: INT64}
tables:
  user_stats:
    entity: user
    on_store_error: POLICY
    columns: {purchases: FLOAT64, avg_price: FLOAT64, visits: FLOAT64}
request:
  ts: {type: INT64, required: true}
  query: {type: STRING}
features:
  - {name: purchases, from: user_stats.purchases, missing: {impute: -1}}
  - {name: avg_price, from: user_stats.avg_price, transform: log1p}
  - {name: visits, from: user_stats.visits}
  - {name: hour, from: request.ts, transform: hour_of_day, missing: required}
outputs:
  - {tensor: x, features: [purchases, avg_price, visits, hour]}
)";

std::string Definition(const std::string& policy = "impute") {
  std::string yaml = kYaml;
  yaml.replace(yaml.find("POLICY"), 6, policy);
  return yaml;
}

const std::vector<features::Column> kColumns = {{"purchases", features::ValueType::kFloat64},
                                                {"avg_price", features::ValueType::kFloat64},
                                                {"visits", features::ValueType::kFloat64}};

std::string UserKey(int64_t id) {
  std::string key;
  store::KeySchema::AppendInt(id, key);
  return key;
}

// A feature table in memory that counts its multi-gets; `hang` keeps
// lookups from answering until released.
class CountingTable : public store::PredictionTable {
 public:
  CountingTable() {
    manifest_.table = "user_stats";
    manifest_.version = 7;
    manifest_.key = *store::KeySchema::Parse("user_id:INT64");
    manifest_.kind = store::TableKind::kFeatures;
    for (const features::Column& c : kColumns) {
      manifest_.outputs.push_back({c.name, core::DataType::kFp64, {}});
    }
    const int64_t now = std::time(nullptr);
    for (int64_t id = 1; id <= 3; ++id) {
      const std::vector<features::FeatureValue> values = {double(id), 9.0, 2.0 * double(id)};
      rows_[UserKey(id)] = features::EncodeFeatureRow(kColumns, values, now);
    }
  }
  const store::TableManifest& manifest() const override { return manifest_; }
  absl::StatusOr<store::LookupResult> MultiGet(std::span<const std::string> keys) const override {
    ++multi_gets;
    store::LookupResult result;
    for (const std::string& key : keys) {
      auto it = rows_.find(key);
      result.found.push_back(it != rows_.end());
      result.values.push_back(it != rows_.end() ? it->second : "");
    }
    return result;
  }
  void MultiGetAsync(std::span<const std::string> keys, LookupCallback done) const override {
    if (!hang) return done(MultiGet(keys));
    std::vector<std::string> copy(keys.begin(), keys.end());
    hung.push_back(std::thread([this, copy, done] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      done(MultiGet(copy));
    }));
  }
  absl::Status Scan(const Visitor&) const override { return absl::OkStatus(); }
  ~CountingTable() override {
    for (std::thread& t : hung) t.join();
  }

  store::TableManifest manifest_;
  std::map<std::string, std::string> rows_;
  mutable int multi_gets = 0;
  bool hang = false;
  mutable std::vector<std::thread> hung;
};

class FakeSource : public features::FeatureTableSource {
 public:
  std::shared_ptr<const store::PredictionTable> Current(std::string_view) const override {
    return table;
  }
  std::shared_ptr<CountingTable> table = std::make_shared<CountingTable>();
};

runtime::ModelConfig Config() {
  runtime::ModelConfig config;
  config.name = "buyer";
  config.max_batch_size = 64;
  config.inputs = {{"x", core::DataType::kFp32, {-1, 4}}};
  config.outputs = {{"y", core::DataType::kFp32, {-1, 4}}};
  return config;
}

core::Tensor Ints(std::string name, std::vector<int64_t> values) {
  core::Tensor t = core::Tensor::Zeros(std::move(name), core::DataType::kInt64,
                                       {static_cast<int64_t>(values.size())});
  std::copy(values.begin(), values.end(), t.MutableAs<int64_t>().begin());
  return t;
}

struct Fixture {
  explicit Fixture(const std::string& policy = "impute") {
    services.tables = source;
    services.metrics = &metrics.features();
    services.timer = std::make_shared<FeatureDeadlineTimer>();
    services.timeout = std::chrono::milliseconds(30);
    definition = Definition(policy);
  }
  absl::StatusOr<std::shared_ptr<const ServedFeatures>> Load() const {
    absl::StatusOr<features::FeatureDefinition> d = features::ParseFeatureDefinition(definition);
    if (!d.ok()) return d.status();
    return ServedFeatures::Create(*std::move(d), Config(), "buyer", 1, services);
  }
  absl::StatusOr<ServedFeatures::Computed> Compute(std::vector<core::Tensor> inputs) const {
    absl::StatusOr<std::shared_ptr<const ServedFeatures>> loaded = Load();
    if (!loaded.ok()) return loaded.status();
    const size_t rows = static_cast<size_t>(inputs[0].shape[0]);
    ServedFeatures::Job job;
    job.inputs = std::move(inputs);
    job.want_vectors = true;
    for (size_t r = 0; r < rows; ++r) job.rows.push_back(r);
    std::promise<absl::StatusOr<ServedFeatures::Computed>> promise;
    (*loaded)->ComputeAsync(std::move(job), [&](absl::StatusOr<ServedFeatures::Computed> c) {
      promise.set_value(std::move(c));
    });
    return promise.get_future().get();
  }
  double Metric(const std::string& name, const std::string& label) {
    double sum = 0;
    for (const auto& family : metrics.Collect()) {
      if (family.name != name) continue;
      for (const auto& m : family.metric) {
        for (const auto& l : m.label) {
          if (l.value == label) sum += m.counter.value;
        }
      }
    }
    return sum;
  }

  ServerMetrics metrics;
  std::shared_ptr<FakeSource> source = std::make_shared<FakeSource>();
  FeatureServices services;
  std::string definition;
};

constexpr int64_t kTs = 1733200000;  // 04:26:40 UTC

TEST(FeatureStage, OneMultiGetPerTableWhateverTheFeatures) {
  Fixture f;
  absl::StatusOr<ServedFeatures::Computed> c =
      f.Compute({Ints("user_id", {1, 2, 3, 2}), Ints("ts", {kTs, kTs, kTs, kTs})});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(f.source->table->multi_gets, 1);  // three features, four rows, one table
  ASSERT_EQ(c->inputs.size(), 1u);
  EXPECT_EQ(c->inputs[0].name, "x");
  EXPECT_EQ(c->inputs[0].shape, (core::Shape{4, 4}));
  const std::span<const float> x = c->inputs[0].As<float>();
  EXPECT_FLOAT_EQ(x[4 * 2 + 0], 3.0f);  // purchases of user 3
  EXPECT_FLOAT_EQ(x[4 * 2 + 1], static_cast<float>(std::log1p(9.0)));
  EXPECT_FLOAT_EQ(x[4 * 2 + 2], 6.0f);
  EXPECT_FLOAT_EQ(x[4 * 2 + 3], 4.0f);  // hour of kTs
  EXPECT_EQ(c->vectors.size(), 16u);
  EXPECT_FALSE(c->degraded);
  EXPECT_EQ(f.Metric("strata_feature_lookups_total", "found"), 4);
}

TEST(FeatureStage, MissingEntityIsImputedAndCounted) {
  Fixture f;
  absl::StatusOr<ServedFeatures::Computed> c =
      f.Compute({Ints("user_id", {1, 42}), Ints("ts", {kTs, kTs})});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FLOAT_EQ(c->inputs[0].As<float>()[4 + 0], -1.0f);  // impute: -1
  EXPECT_FLOAT_EQ(c->inputs[0].As<float>()[4 + 2], 0.0f);   // default impute
  EXPECT_EQ(f.Metric("strata_feature_lookups_total", "missing"), 1);
  EXPECT_EQ(f.Metric("strata_feature_imputed_total", "purchases"), 1);
  EXPECT_EQ(f.Metric("strata_feature_imputed_total", "visits"), 1);
}

TEST(FeatureStage, BadInputIsNamed) {
  Fixture f;
  auto missing_key = f.Compute({Ints("ts", {kTs})});
  EXPECT_EQ(missing_key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing_key.status().message().find("'user_id'"), std::string::npos);
  core::Tensor text{"user_id", core::DataType::kBytes, {1}, {}};
  core::AppendBytesElement("seven", text.data);
  auto wrong_type = f.Compute({text, Ints("ts", {kTs})});
  EXPECT_EQ(wrong_type.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_type.status().message().find("'user_id' must be INT64"), std::string::npos)
      << wrong_type.status();
  auto unknown = f.Compute({Ints("user_id", {1}), Ints("ts", {kTs}), Ints("colour", {3})});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("'colour'"), std::string::npos);
}

TEST(FeatureStage, RequiredFeatureMissingIsRefusedNamingIt) {
  Fixture f;
  auto c = f.Compute({Ints("user_id", {1})});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("'ts' is required"), std::string::npos) << c.status();
}

TEST(FeatureStage, PastTheDeadlineImputePolicyAnswersDegraded) {
  Fixture f;
  f.source->table->hang = true;
  const auto start = std::chrono::steady_clock::now();
  auto c = f.Compute({Ints("user_id", {1}), Ints("ts", {kTs})});
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->degraded);
  EXPECT_FLOAT_EQ(c->inputs[0].As<float>()[0], -1.0f);  // imputed
  EXPECT_LT(took, std::chrono::milliseconds(250));      // the table answers after 300 ms
  EXPECT_EQ(f.Metric("strata_feature_degraded_requests_total", "deadline"), 1);
}

TEST(FeatureStage, PastTheDeadlineUnavailablePolicyFails) {
  Fixture f("unavailable");
  f.source->table->hang = true;
  auto c = f.Compute({Ints("user_id", {1}), Ints("ts", {kTs})});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnavailable) << c.status();
}

TEST(FeatureStage, LoadRefusesOutputsThatAreNotTheModelsInputs) {
  Fixture f;
  f.definition.replace(f.definition.find("tensor: x"), 9, "tensor: z");
  auto loaded = f.Load();
  EXPECT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("'x'"), std::string::npos) << loaded.status();
  Fixture narrow;
  narrow.definition.replace(narrow.definition.find(", hour]"), 7, "]");
  EXPECT_FALSE(narrow.Load().ok());  // width 3 for an input of width 4
}

TEST(FeatureStage, LoadRefusesATableKeyedOtherwise) {
  Fixture f;
  f.source->table->manifest_.key = *store::KeySchema::Parse("user_id:BYTES");
  auto loaded = f.Load();
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition) << loaded.status();
  EXPECT_NE(loaded.status().message().find("user_stats"), std::string::npos);
}

TEST(FeatureStage, LoadRefusesATableWithOtherColumns) {
  Fixture f;
  f.source->table->manifest_.outputs.pop_back();
  auto loaded = f.Load();
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition) << loaded.status();
  EXPECT_NE(loaded.status().message().find("visits"), std::string::npos);
}

TEST(FeatureStage, LoadRefusesAnUnknownFeature) {
  Fixture f;
  f.definition.replace(f.definition.find("visits, hour]"), 13, "visits, colour]");
  EXPECT_FALSE(f.Load().ok());
}

// Echoes the model inputs it is run with as its output `y`.
class EchoRunner : public ModelRunner {
 public:
  absl::StatusOr<std::shared_ptr<const ServedModel>> Find(std::string_view,
                                                          std::string_view) const override {
    return served;
  }
  absl::Status Validate(const ServedModel& version, core::InferRequest& request) const override {
    return ValidateAndOrderInputs(version.config, request);
  }
  void Run(std::shared_ptr<const ServedModel> version, core::InferRequest request,
           Done done) const override {
    ++runs;
    core::InferResponse response;
    response.model_name = version->name;
    response.model_version = std::to_string(version->version);
    core::Tensor y = request.inputs[0];
    y.name = "y";
    response.outputs.push_back(std::move(y));
    done(std::move(response));
  }
  std::shared_ptr<const ServedModel> served;
  mutable int runs = 0;
};

TEST(FeatureStage, ModelCalledByItsNameAcceptsKeyOnlyRequests) {
  Fixture f;
  auto model = std::make_shared<ServedModel>();
  model->name = "buyer";
  model->version = 1;
  model->config = Config();
  model->features = *f.Load();
  EchoRunner runner;
  runner.served = model;
  core::InferRequest request;
  request.model_name = "buyer";
  request.inputs = {Ints("user_id", {2}), Ints("ts", {kTs})};
  request.parameters["return_features"] = true;
  std::promise<absl::StatusOr<core::InferResponse>> promise;
  RunWithFeatures(runner, model, std::move(request),
                  [&](absl::StatusOr<core::InferResponse> r) { promise.set_value(std::move(r)); });
  absl::StatusOr<core::InferResponse> response = promise.get_future().get();
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->outputs.size(), 2u);
  EXPECT_EQ(response->outputs[1].name, "features");
  EXPECT_EQ(response->outputs[1].shape, (core::Shape{1, 4}));
  EXPECT_EQ(response->outputs[0].data, response->outputs[1].data);  // the vector the model saw
}

TEST(FeatureStage, ReturnFeaturesIsRefusedForAModelWithout) {
  EchoRunner runner;
  auto model = std::make_shared<ServedModel>();
  model->name = "plain";
  model->config = Config();
  core::InferRequest request;
  request.parameters["return_features"] = true;
  absl::StatusOr<core::InferResponse> got = absl::UnknownError("not called");
  RunWithFeatures(runner, model, std::move(request),
                  [&](absl::StatusOr<core::InferResponse> r) { got = std::move(r); });
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(got.status().message().find("return_features"), std::string::npos);
}

TEST(FeatureStage, DynamicPlanComputesFeaturesThenRunsTheModel) {
  Fixture f;
  auto model = std::make_shared<ServedModel>();
  model->name = "buyer";
  model->version = 1;
  model->config = Config();
  model->features = *f.Load();
  EchoRunner runner;
  runner.served = model;
  LayerRecorder recorder;
  PredictionCache cache(PredictionCacheOptions{});
  StageList plan = DynamicPlan(recorder, runner, &cache);
  for (int round = 0; round < 2; ++round) {
    auto batch = std::make_shared<RowBatch>();
    batch->endpoint = "buyer_dynamic";
    batch->model = model;
    batch->model_inputs = {Ints("user_id", {1, 3}), Ints("ts", {kTs, kTs})};
    batch->keys = {"a", "b"};  // preliminary: the feature stage keys rows by their vectors
    batch->Reset(*ModelLayout(model->config, "buyer", 1, nullptr));
    std::promise<absl::Status> done;
    plan.Run(batch, [&](absl::Status s) { done.set_value(s); });
    ASSERT_TRUE(done.get_future().get().ok());
    EXPECT_EQ(batch->layers[1], round == 0 ? Layer::kModel : Layer::kCache);
    EXPECT_FLOAT_EQ(reinterpret_cast<const float*>(batch->Row(1))[0], 3.0f);
  }
  EXPECT_EQ(runner.runs, 1);  // the second request was answered by the cache
  EXPECT_EQ(f.source->table->multi_gets, 2);
}

}  // namespace
}  // namespace strata::serving
