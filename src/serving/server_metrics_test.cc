// The /metrics text of a model version is the same as when its series were
// prometheus-cpp families (the reference below is how ServerMetrics built
// them before they became lock-free): names, HELP and TYPE lines, labels,
// bucket bounds and cumulative counts.
#include "serving/server_metrics.h"

#include <algorithm>
#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"

namespace strata::serving {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

const std::vector<double> kLatency = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                      0.0025,  0.005,    0.01,    0.025,  0.05,    0.1,    0.25,
                                      0.5,     1.0,      2.5,     5.0,    10.0};
const std::vector<double> kBatch = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};

double Seconds(std::chrono::nanoseconds ns) { return std::chrono::duration<double>(ns).count(); }

// The model's families as prometheus-cpp families, recording what
// RecordRequests records.
struct Reference {
  prometheus::Registry registry;
  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter()
          .Name("strata_inference_requests_total")
          .Help("Inference requests by model, version and outcome")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& total =
      prometheus::BuildHistogram()
          .Name("strata_inference_request_duration_seconds")
          .Help("Time from a request's arrival in the core to its answer")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& queue =
      prometheus::BuildHistogram()
          .Name("strata_inference_queue_duration_seconds")
          .Help("Time a request waited in the model's queue")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& compute =
      prometheus::BuildHistogram()
          .Name("strata_inference_compute_duration_seconds")
          .Help("Time the backend took to run one batch")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& batch_size =
      prometheus::BuildHistogram()
          .Name("strata_inference_batch_size")
          .Help("Rows in each batch run by the backend")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& queue_depth =
      prometheus::BuildGauge()
          .Name("strata_inference_queue_depth")
          .Help("Requests waiting in the model's queue")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& in_flight =
      prometheus::BuildGauge()
          .Name("strata_inference_in_flight_requests")
          .Help(
              "Requests in the model's batcher (queued or running), "
              "counted when they enter and when they leave it")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& saturation =
      prometheus::BuildGauge()
          .Name("strata_saturation_ratio")
          .Help(
              "max(queue depth / max_queue_size, running batches / instances), "
              "each a mean over the last seconds (time constant 2 s); 0 idle, "
              "1 saturated: the autoscaling metric")
          .Register(registry);

  void AddModel(const prometheus::Labels& labels) {
    for (const char* outcome :
         {"success", "client_error", "rejected", "deadline", "internal_error"}) {
      prometheus::Labels with = labels;
      with["outcome"] = outcome;
      requests.Add(with);
    }
    total.Add(labels, kLatency);
    queue.Add(labels, kLatency);
    compute.Add(labels, kLatency);
    batch_size.Add(labels, kBatch);
    queue_depth.Add(labels);
    in_flight.Add(labels);
    saturation.Add(labels);
  }
};

const std::vector<std::chrono::nanoseconds> kTotals = {microseconds(10), microseconds(11),
                                                       microseconds(250), milliseconds(3),
                                                       std::chrono::seconds(20)};

void RecordRequests(ModelMetrics& m) {
  for (std::chrono::nanoseconds took : kTotals) m.RecordOutcome(Outcome::kSuccess, took);
  m.RecordOutcome(Outcome::kClientError, microseconds(5));
  m.RecordQueueWait(microseconds(25));
  m.RecordQueueWait(microseconds(26));
  m.RecordBatch({.rows = 1, .infer = microseconds(40)});
  m.RecordBatch({.rows = 100, .infer = milliseconds(1)});
  m.SetQueueDepth(3);
  m.AddInFlight(2);
}

void RecordRequests(Reference& r, const prometheus::Labels& labels) {
  prometheus::Labels success = labels, client_error = labels;
  success["outcome"] = "success";
  client_error["outcome"] = "client_error";
  for (std::chrono::nanoseconds took : kTotals) {
    r.requests.Add(success).Increment();
    r.total.Add(labels, kLatency).Observe(Seconds(took));
  }
  r.requests.Add(client_error).Increment();
  r.total.Add(labels, kLatency).Observe(Seconds(microseconds(5)));
  r.queue.Add(labels, kLatency).Observe(Seconds(microseconds(25)));
  r.queue.Add(labels, kLatency).Observe(Seconds(microseconds(26)));
  r.compute.Add(labels, kLatency).Observe(Seconds(microseconds(40)));
  r.compute.Add(labels, kLatency).Observe(Seconds(milliseconds(1)));
  r.batch_size.Add(labels, kBatch).Observe(1);
  r.batch_size.Add(labels, kBatch).Observe(100);
  r.queue_depth.Add(labels).Set(3);
  r.in_flight.Add(labels).Increment(2);
}

bool OfTheModel(const std::string& line) {
  if (line.find("strata_process_") != std::string::npos) return false;
  for (const char* prefix : {"strata_inference_", "strata_saturation_ratio"}) {
    if (line.find(prefix) != std::string::npos) return true;
  }
  return false;
}

// The model's lines: the HELP and TYPE lines in order, then the samples
// sorted (prometheus-cpp shows a family's series in no fixed order); the
// saturation ratio's value (a mean over time) is left out.
std::vector<std::string> ModelLines(const std::vector<prometheus::MetricFamily>& families) {
  std::istringstream text(prometheus::TextSerializer().Serialize(families));
  std::vector<std::string> heads, samples;
  for (std::string line; std::getline(text, line);) {
    if (!OfTheModel(line)) continue;
    if (line.starts_with("strata_saturation_ratio{")) line = line.substr(0, line.rfind(' '));
    (line.starts_with("#") ? heads : samples).push_back(line);
  }
  std::sort(samples.begin(), samples.end());
  heads.insert(heads.end(), samples.begin(), samples.end());
  return heads;
}

TEST(ServerMetricsTest, AModelsMetricsTextIsTheSameAsPrometheusCppsFamilies) {
  ServerMetrics metrics;
  Reference reference;
  const prometheus::Labels labels = {{"model", "m"}, {"version", "1"}};
  std::unique_ptr<ModelMetrics> m = metrics.ForModel("m", "1");
  reference.AddModel(labels);
  RecordRequests(*m);
  RecordRequests(reference, labels);
  const std::vector<std::string> ours = ModelLines(metrics.Collect());
  EXPECT_EQ(ours, ModelLines(reference.registry.Collect()));
  EXPECT_GT(ours.size(), 100u);  // 4 histograms of buckets, counters, gauges
}

TEST(ServerMetricsTest, AnUnloadedVersionsSeriesAndEmptyFamiliesDisappear) {
  ServerMetrics metrics;
  std::unique_ptr<ModelMetrics> one = metrics.ForModel("m", "1");
  std::unique_ptr<ModelMetrics> two = metrics.ForModel("m", "2");
  RecordRequests(*one);
  one.reset();
  std::vector<std::string> lines = ModelLines(metrics.Collect());
  EXPECT_TRUE(std::none_of(lines.begin(), lines.end(), [](const std::string& line) {
    return line.find("version=\"1\"") != std::string::npos;
  }));
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& line) {
    return line.find("version=\"2\"") != std::string::npos;
  }));
  two.reset();
  EXPECT_TRUE(ModelLines(metrics.Collect()).empty());
}

TEST(ServerMetricsTest, StatisticsCountTheThreePhasesOfEachBatchOnce) {
  ServerMetrics metrics;
  std::unique_ptr<ModelMetrics> m = metrics.ForModel("m", "1");
  RecordRequests(*m);
  const ModelStatistics s = m->Snapshot();
  EXPECT_EQ(s.success.count, kTotals.size());
  EXPECT_EQ(s.fail.count, 1u);
  EXPECT_EQ(s.queue.count, 2u);
  EXPECT_EQ(s.queue.ns, 51'000u);
  EXPECT_EQ(s.execution_count, 2u);
  EXPECT_EQ(s.inference_count, 101u);
  EXPECT_EQ(s.compute.input.count, s.compute.infer.count);
  EXPECT_EQ(s.compute.output.count, s.compute.infer.count);
  EXPECT_EQ(s.compute.infer.ns, 1'040'000u);
  ASSERT_EQ(s.batch_stats.size(), 2u);
  EXPECT_EQ(s.batch_stats.at(1).infer.count, 1u);
  EXPECT_EQ(s.batch_stats.at(100).infer.ns, 1'000'000u);
}

TEST(ServerMetricsTest, LayerSeriesSumUpAndShowOnMetrics) {
  ServerMetrics metrics;
  EXPECT_FALSE(metrics.Layer("sales", "table").has_value());
  metrics.RecordLayer("sales", "table", 3, microseconds(20));
  metrics.RecordLayer("sales", "table", 2, microseconds(30));
  const std::optional<LayerSummary> table = metrics.Layer("sales", "table");
  ASSERT_TRUE(table.has_value());
  EXPECT_EQ(table->rows, 5);
  EXPECT_EQ(table->requests, 2u);
  EXPECT_NEAR(table->seconds, 50e-6, 1e-12);
  const std::string text = prometheus::TextSerializer().Serialize(metrics.Collect());
  EXPECT_NE(text.find("strata_endpoint_rows_total{endpoint=\"sales\",layer=\"table\"} 5"),
            std::string::npos);
  EXPECT_NE(text.find("strata_endpoint_layer_duration_seconds_bucket{endpoint=\"sales\","
                      "layer=\"table\",le=\"2.5e-05\"} 1"),
            std::string::npos);
}

// RecordSplit keeps the series it used in a per-thread cache: counts stay
// per (endpoint, arm, version) past the cache's bound, and a later
// ServerMetrics on the same thread never finds an earlier one's series.
TEST(ServerMetricsTest, SplitCountsArePerSeriesAndPerServerMetrics) {
  const auto count_of = [](ServerMetrics& metrics, const std::string& arm,
                           const std::string& version) {
    const std::string text = prometheus::TextSerializer().Serialize(metrics.Collect());
    const std::string series = "strata_split_requests_total{arm=\"" + arm +
                               "\",endpoint=\"ab\",version=\"" + version + "\"} ";
    const size_t at = text.find(series);
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + series.size()));
  };
  {
    ServerMetrics first;
    first.RecordSplit("ab", "a", "1");
    first.RecordSplit("ab", "a", "1");
    first.RecordSplit("ab", "b", "1");
    for (int v = 2; v < 80; ++v) first.RecordSplit("ab", "a", std::to_string(v));  // evicts
    first.RecordSplit("ab", "a", "1");
    EXPECT_EQ(count_of(first, "a", "1"), 3);
    EXPECT_EQ(count_of(first, "b", "1"), 1);
    EXPECT_EQ(count_of(first, "a", "79"), 1);
  }
  ServerMetrics second;  // ("ab", "a", "1") is in this thread's cache, for `first`
  second.RecordSplit("ab", "a", "1");
  EXPECT_EQ(count_of(second, "a", "1"), 1);
  EXPECT_EQ(count_of(second, "b", "1"), -1);
}
}  // namespace
}  // namespace strata::serving
