#include "check/open_loop_load.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "check/kserve_client.h"
#include "fmt/format.h"

namespace strata::check {
namespace {

using Clock = std::chrono::steady_clock;

// After the planned duration, how long requests still due may be sent.
constexpr std::chrono::seconds kGrace{5};

struct Lane {
  int first = 0;  // this lane sends requests first, first + stride, ...
  int stride = 1;
};

LoadOutcome RunLane(const CheckTarget& target, const std::vector<std::string>& bodies,
                    const LoadPlan& plan, Lane lane, Clock::time_point start) {
  LoadOutcome out;
  const auto total = static_cast<int64_t>(std::llround(plan.rate * plan.duration.count() / 1e3));
  const Clock::time_point stop = start + plan.duration + kGrace;
  auto client = KserveClient::Create(target, plan.request_timeout);
  out.planned = total > lane.first ? (total - lane.first + lane.stride - 1) / lane.stride : 0;
  if (!client.ok()) {
    out.not_sent = out.planned;
    out.first_error = client.status().ToString();
    return out;
  }
  for (int64_t j = lane.first; j < total; j += lane.stride) {
    if (Clock::now() > stop) {
      out.not_sent = out.planned - out.sent;
      break;
    }
    const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(static_cast<double>(j) / plan.rate));
    std::this_thread::sleep_until(due);
    absl::StatusOr<api::HttpResponse> r = (*client)->Infer(bodies[j % bodies.size()]);
    ++out.sent;
    if (!r.ok() || r->status != 200) {
      ++out.errors;
      if (out.first_error.empty()) {
        out.first_error = r.ok() ? fmt::format("HTTP {}: {}", r->status, r->body.substr(0, 200))
                                 : r.status().ToString();
      }
      continue;
    }
    out.latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - due).count());
  }
  return out;
}

void Merge(LoadOutcome& into, LoadOutcome&& lane) {
  into.planned += lane.planned;
  into.sent += lane.sent;
  into.errors += lane.errors;
  into.not_sent += lane.not_sent;
  if (into.first_error.empty()) into.first_error = std::move(lane.first_error);
  into.latencies_ms.insert(into.latencies_ms.end(), lane.latencies_ms.begin(),
                           lane.latencies_ms.end());
}

}  // namespace

LoadOutcome RunOpenLoopLoad(const CheckTarget& target, const std::vector<std::string>& bodies,
                            const LoadPlan& plan) {
  const int lanes = plan.connections;
  std::vector<LoadOutcome> outcomes(static_cast<size_t>(lanes));
  const Clock::time_point start = Clock::now();
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < lanes; ++i) {
      threads.emplace_back([&, i] {
        outcomes[static_cast<size_t>(i)] =
            RunLane(target, bodies, plan, Lane{.first = i, .stride = lanes}, start);
      });
    }
  }
  LoadOutcome total;
  for (LoadOutcome& lane : outcomes) Merge(total, std::move(lane));
  total.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return total;
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(q * static_cast<double>(values.size()));
  const size_t index =
      static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(values.size())));
  return values[index - 1];
}

}  // namespace strata::check
