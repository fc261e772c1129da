// Reads a counter from a Prometheus text exposition (`/metrics`): the sum of
// one metric's series whose labels include the given ones. Pure;
// thread-safe.
#ifndef STRATA_CHECK_PROMETHEUS_TEXT_H_
#define STRATA_CHECK_PROMETHEUS_TEXT_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace strata::check {

// nullopt when no series of `metric` has all of `labels`.
// E.g. SumSeries(text, "strata_inference_requests_total", {{"model", "m"}}).
std::optional<double> SumSeries(std::string_view text, std::string_view metric,
                                const std::map<std::string, std::string>& labels);

}  // namespace strata::check

#endif  // STRATA_CHECK_PROMETHEUS_TEXT_H_
