// PayloadLog writes a sample of inference requests and their responses to a
// JSON Lines file (`strata serve --payload-log FILE`), redacted field by
// field by a RedactionPolicy (api/payload_redaction.h): off unless asked
// for, and then nothing leaves a field the policy does not name.
//
//   {"ts":1796290801.125,"request_id":"r-7","model":"purchase","version":"2",
//    "inputs":{"age":{"datatype":"INT64","shape":[1],"data":[31]},
//              "user_id":{"datatype":"BYTES","shape":[1],"hash":["9c1f...32 hex"]}},
//    "outputs":{"score":{"datatype":"FP32","shape":[1],"data":[0.25]}},
//    "dropped_inputs":["email"],"dropped_outputs":[]}
//
// The request path only samples, redacts and queues; a thread of the log's
// own writes. The queue is bounded (bytes): a line that does not fit is
// dropped and counted, so a slow disk never blocks a request. The file is
// rotated to FILE.1 once it exceeds its size cap, so the log holds at most
// about twice the cap. Thread-safe.
#ifndef STRATA_API_PAYLOAD_LOG_H_
#define STRATA_API_PAYLOAD_LOG_H_

#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "api/payload_redaction.h"
#include "core/infer_request.h"
#include "core/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"

namespace strata::api {

struct PayloadLogOptions {
  std::string path;
  RedactionPolicy policy = {};
  FieldHasher hasher = nullptr;  // null: hashed fields are dropped
  double sample = 0.01;          // share of requests logged, in (0, 1]
  size_t max_file_bytes = 64 << 20;
  size_t max_queue_bytes = 4 << 20;
};

// A sampled request's redacted part, held until its response is known.
struct PendingPayload {
  double ts = 0;
  std::string request_id;
  std::string model;
  RedactedFields inputs;
};

// The line (without the newline) for a request and the response it got.
std::string PayloadLine(const PendingPayload& pending, const core::InferResponse& response,
                        const RedactedFields& outputs);

class PayloadLog {
 public:
  // Opens `path` for appending. INVALID_ARGUMENT for a sample outside (0, 1]
  // or a file that cannot be opened.
  static absl::StatusOr<std::unique_ptr<PayloadLog>> Open(PayloadLogOptions options);
  // Writes what is queued, then stops the writer.
  ~PayloadLog();
  PayloadLog(const PayloadLog&) = delete;
  PayloadLog& operator=(const PayloadLog&) = delete;

  // The redacted inputs of `request` when it is sampled, else nullopt.
  std::optional<PendingPayload> Sample(const core::InferRequest& request) const;

  // Queues the line of a sampled request that was answered `response`;
  // never waits for the file (a full queue drops the line).
  void Record(const PendingPayload& pending, const core::InferResponse& response);

  // Waits until the queue is written (for tests and shutdown).
  void Flush();

  std::vector<prometheus::MetricFamily> Collect() const;

 private:
  PayloadLog(PayloadLogOptions options, std::FILE* file);
  void WriteLoop();
  void Write(const std::string& lines);

  const PayloadLogOptions options_;
  core::Mutex mutex_;
  core::CondVar wake_;     // a line was queued, or stopping
  core::CondVar written_;  // the queue was emptied
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mutex_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::FILE* file_;  // the writer thread's only
  size_t file_bytes_ = 0;

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter* lines_written_;
  prometheus::Counter* lines_dropped_;
  std::thread writer_;
};

}  // namespace strata::api

#endif  // STRATA_API_PAYLOAD_LOG_H_
