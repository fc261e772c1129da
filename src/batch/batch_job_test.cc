#include "batch/batch_job.h"

#include <unistd.h>

#include <fstream>

#include "gtest/gtest.h"
#include "store/memory_table_store.h"
#include "store/table_directory.h"

namespace strata::batch {
namespace {
namespace fs = std::filesystem;

// y = a + 2b, from features [-1, 2] (FP32); counts rows it has seen.
class LinearModel : public runtime::Model {
 public:
  explicit LinearModel(float offset = 0) : offset_(offset) {}
  absl::StatusOr<std::vector<core::Tensor>> Run(std::span<const core::Tensor> inputs) override {
    const int64_t n = inputs[0].shape[0];
    core::Tensor y = core::Tensor::Zeros("y", core::DataType::kFp32, {n});
    auto x = inputs[0].As<float>();
    for (int64_t i = 0; i < n; ++i) {
      y.MutableAs<float>()[i] = x[2 * i] + 2 * x[2 * i + 1] + offset_;
    }
    return std::vector<core::Tensor>{std::move(y)};
  }

 private:
  float offset_;
};

runtime::ModelConfig Config() {
  runtime::ModelConfig config;
  config.name = "linear";
  config.backend = "test";
  config.max_batch_size = 64;
  config.inputs = {{"features", core::DataType::kFp32, {-1, 2}}};
  config.outputs = {{"y", core::DataType::kFp32, {-1}}};
  return config;
}

class BatchJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("strata-batch-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Rows store_id in [0, rows), sku "p<i % 7>"; a = i, b = i % 7.
  std::string WriteCsv(const std::string& name, int rows, int bad_line = -1) {
    std::ofstream out(dir_ / name);
    out << "store_id,sku,a,b\n";
    for (int i = 0; i < rows; ++i) {
      if (i + 2 == bad_line) {
        out << i << ",p" << i % 7 << ",oops," << i % 7 << "\n";
      } else {
        out << i << ",p" << i % 7 << "," << i << "," << i % 7 << "\n";
      }
    }
    return (dir_ / name).string();
  }

  BatchJobOptions Options(const std::string& input) {
    BatchJobOptions o;
    o.model_config = Config();
    o.model = std::make_shared<LinearModel>();
    o.model_version = 3;
    o.input = input;
    o.key = *store::KeySchema::Parse("store_id:INT64,sku");
    o.store = &store_;
    o.table = "forecast";
    o.staging_root = dir_ / "staging";
    o.threads = 2;
    o.chunk_rows = 10;
    o.batch_size = 4;
    o.progress = ProgressMode::kOff;
    return o;
  }

  fs::path dir_;
  store::MemoryTableStore store_;
};

TEST_F(BatchJobTest, WritesOneVerifiedVersionWithKeysAndPredictions) {
  absl::StatusOr<BatchJobResult> result = RunBatchJob(Options(WriteCsv("in.csv", 95)));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->finalized);
  EXPECT_TRUE(result->verified);
  EXPECT_TRUE(result->published);
  EXPECT_EQ(result->rows, 95);
  EXPECT_EQ(*store_.CurrentVersion("forecast"), result->version);
  auto table = *store_.Open("forecast", result->version);
  const store::TableManifest& m = table->manifest();
  EXPECT_EQ(m.model_name, "linear");
  EXPECT_EQ(m.model_version, 3);
  EXPECT_EQ(m.rows, 95);
  EXPECT_EQ(m.checksum, result->checksum);
  EXPECT_EQ(m.key.ToString(), "store_id:INT64,sku:BYTES");
  ASSERT_EQ(m.verification.outputs.size(), 1u);
  EXPECT_EQ(m.verification.outputs[0].min, 0);
  EXPECT_EQ(m.verification.outputs[0].max, 90 + 2 * 6);
  std::string key;
  store::KeySchema::AppendInt(40, key);
  store::KeySchema::AppendBytes("p5", key);
  auto found = table->MultiGet(std::vector<std::string>{key});
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->found[0], 1);
  float y;
  std::memcpy(&y, found->values[0].data(), 4);
  EXPECT_EQ(y, 40 + 2 * 5);
}

TEST_F(BatchJobTest, ResumingAfterAFailureGivesTheSameTable) {
  const BatchJobOptions clean = Options(WriteCsv("clean.csv", 200));
  absl::StatusOr<BatchJobResult> reference = RunBatchJob(clean);
  ASSERT_TRUE(reference.ok()) << reference.status();

  // A run that stops part-way (a bad row at line 150) leaves checkpoints.
  BatchJobOptions options = Options(WriteCsv("in.csv", 200, 150));
  options.job_id = "resumed";
  options.threads = 1;
  absl::StatusOr<BatchJobResult> failed = RunBatchJob(options);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("line 150"), std::string_view::npos) << failed.status();
  WriteCsv("in.csv", 200);  // fixed in place; same job id
  absl::StatusOr<BatchJobResult> resumed = RunBatchJob(options);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_GE(resumed->rows_resumed, 140);
  EXPECT_EQ(resumed->rows_resumed + resumed->rows_processed, 200);
  EXPECT_EQ(resumed->checksum, reference->checksum);
  EXPECT_EQ(resumed->rows, 200);
}

TEST_F(BatchJobTest, ACompletedJobDoesNotRunAgain) {
  BatchJobOptions options = Options(WriteCsv("in.csv", 95));
  options.job_id = "weekly";
  absl::StatusOr<BatchJobResult> first = RunBatchJob(options);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->published);
  absl::StatusOr<BatchJobResult> again = RunBatchJob(options);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->finalized);
  EXPECT_EQ(again->version, first->version);
  EXPECT_EQ(again->rows_processed, 0);  // not a chunk computed again
  EXPECT_FALSE(fs::exists(dir_ / "staging" / "weekly" / "parts" / "part-00000000.run"));
  EXPECT_EQ(*store_.ListVersions("forecast"), (std::vector<int64_t>{first->version}));
}

TEST_F(BatchJobTest, ShardsCombineIntoOneVersion) {
  const std::string input = WriteCsv("in.csv", 123);
  absl::StatusOr<BatchJobResult> whole = RunBatchJob(Options(input));
  ASSERT_TRUE(whole.ok());
  BatchJobOptions options = Options(input);
  options.job_id = "sharded";
  options.shard_count = 3;
  std::vector<BatchJobResult> results;
  for (int i : {2, 0, 1}) {
    options.shard_index = i;
    absl::StatusOr<BatchJobResult> r = RunBatchJob(options);
    ASSERT_TRUE(r.ok()) << r.status();
    results.push_back(*r);
  }
  EXPECT_FALSE(results[0].finalized);
  EXPECT_FALSE(results[1].finalized);
  ASSERT_TRUE(results[2].finalized);
  EXPECT_EQ(results[0].rows_processed + results[1].rows_processed + results[2].rows_processed, 123);
  EXPECT_EQ(results[2].checksum, whole->checksum);
  EXPECT_EQ(*store_.ListVersions("forecast"), (std::vector<int64_t>{1, 2}));
}

TEST_F(BatchJobTest, AFailedCheckPublishesNothing) {
  BatchJobOptions options = Options(WriteCsv("in.csv", 50));
  options.expect.max_value = 10;
  absl::StatusOr<BatchJobResult> result = RunBatchJob(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->verified);
  EXPECT_FALSE(result->published);
  EXPECT_TRUE(store_.ListVersions("forecast")->empty());
  bool range_failed = false;
  for (const auto& c : result->report.checks) range_failed |= c.name == "range" && !c.passed;
  EXPECT_TRUE(range_failed);
}

TEST_F(BatchJobTest, ADistributionShiftAgainstThePreviousVersionFails) {
  ASSERT_TRUE(RunBatchJob(Options(WriteCsv("in.csv", 300)))->published);
  BatchJobOptions shifted = Options(WriteCsv("in2.csv", 300));
  shifted.model = std::make_shared<LinearModel>(500);
  absl::StatusOr<BatchJobResult> result = RunBatchJob(shifted);
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->verified);
  ASSERT_TRUE(result->report.psi.has_value());
  EXPECT_GT(*result->report.psi, 0.25);
  EXPECT_EQ(*store_.CurrentVersion("forecast"), 1);

  BatchJobOptions same = Options(WriteCsv("in3.csv", 300));
  result = RunBatchJob(same);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->verified);
  EXPECT_LT(*result->report.psi, 0.01);
}

TEST_F(BatchJobTest, MalformedRowsGoToTheRejectFileWhenAsked) {
  BatchJobOptions options = Options(WriteCsv("in.csv", 40, 7));
  options.reject_path = (dir_ / "rejects.tsv").string();
  absl::StatusOr<BatchJobResult> result = RunBatchJob(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows, 39);
  EXPECT_EQ(result->rejected, 1);
  std::string rejects = *store::ReadFile(options.reject_path);
  EXPECT_EQ(rejects.rfind("7\tcolumn 'a': 'oops' is not a FP32 value\t5,p5,oops,5", 0), 0u)
      << rejects;
}

TEST_F(BatchJobTest, DuplicateKeysFailTheJob) {
  std::ofstream(dir_ / "dup.csv") << "store_id,sku,a,b\n1,x,1,1\n2,x,1,1\n1,x,3,3\n";
  absl::StatusOr<BatchJobResult> result = RunBatchJob(Options((dir_ / "dup.csv").string()));
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("duplicate key (store_id=1, sku=x)"),
            std::string_view::npos)
      << result.status();
  EXPECT_TRUE(store_.ListVersions("forecast")->empty());
}

TEST_F(BatchJobTest, FileOutputKeepsInputOrderAndKeyTexts) {
  std::ofstream(dir_ / "in.jsonl")
      << "{\"store_id\": 7, \"sku\": \"a\\\"b\", \"features\": [1, 2]}\n"
      << "\n"
      << "{\"store_id\": 3, \"sku\": \"c\", \"features\": [0.5, 0]}\n";
  BatchJobOptions options = Options((dir_ / "in.jsonl").string());
  options.input_format = InputFormat::kJsonl;
  options.store = nullptr;
  options.output_path = (dir_ / "out.jsonl").string();
  options.output_format = OutputFormat::kJsonl;
  absl::StatusOr<BatchJobResult> result = RunBatchJob(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*store::ReadFile(options.output_path),
            "{\"store_id\":7,\"sku\":\"a\\\"b\",\"y\":5}\n"
            "{\"store_id\":3,\"sku\":\"c\",\"y\":0.5}\n");
  options.output_path = (dir_ / "out.csv").string();
  options.output_format = OutputFormat::kCsv;
  ASSERT_TRUE(RunBatchJob(options).ok());
  EXPECT_EQ(*store::ReadFile(options.output_path), "store_id,sku,y\n7,\"a\"\"b\",5\n3,c,0.5\n");
}

}  // namespace
}  // namespace strata::batch
