#include "batch/verifier.h"

#include "fmt/format.h"

namespace strata::batch {

store::VerificationReport Verify(const std::vector<store::OutputStats>& stats, int64_t rows,
                                 int64_t rejected, const Expectations& expect,
                                 const store::TableManifest* previous, std::optional<double> psi) {
  store::VerificationReport report;
  report.rows = rows;
  report.outputs = stats;
  auto check = [&](std::string name, bool passed, std::string detail) {
    report.checks.push_back({std::move(name), passed, std::move(detail)});
    report.passed = report.passed && passed;
  };
  check("rows",
        rows > 0 && (!expect.min_rows || rows >= *expect.min_rows) &&
            (!expect.max_rows || rows <= *expect.max_rows),
        fmt::format("{} rows; expected {} to {}", rows, expect.min_rows.value_or(1),
                    expect.max_rows ? std::to_string(*expect.max_rows) : "any"));
  if (expect.max_rejected >= 0) {
    check("rejected", rejected <= expect.max_rejected,
          fmt::format("{} malformed rows skipped; at most {} allowed", rejected,
                      expect.max_rejected));
  }
  int64_t non_finite = 0;
  double low = 0, high = 0;
  bool any = false;
  for (const store::OutputStats& s : stats) {
    non_finite += s.nan + s.inf;
    if (s.count == 0) continue;
    low = any ? std::min(low, s.min) : s.min;
    high = any ? std::max(high, s.max) : s.max;
    any = true;
  }
  check("nan", non_finite <= expect.max_nan,
        fmt::format("{} NaN or infinite values; at most {} allowed", non_finite, expect.max_nan));
  if (expect.min_value || expect.max_value) {
    const bool passed = !any || ((!expect.min_value || low >= *expect.min_value) &&
                                 (!expect.max_value || high <= *expect.max_value));
    check("range", passed,
          fmt::format("values in [{}, {}]; expected within [{}, {}]", low, high,
                      expect.min_value ? fmt::format("{}", *expect.min_value) : "-inf",
                      expect.max_value ? fmt::format("{}", *expect.max_value) : "inf"));
  }
  if ((expect.min_mean || expect.max_mean) && !stats.empty()) {
    const double mean = stats[0].mean;
    check("mean",
          (!expect.min_mean || mean >= *expect.min_mean) &&
              (!expect.max_mean || mean <= *expect.max_mean),
          fmt::format("mean of '{}' is {}; expected within [{}, {}]", stats[0].name, mean,
                      expect.min_mean ? fmt::format("{}", *expect.min_mean) : "-inf",
                      expect.max_mean ? fmt::format("{}", *expect.max_mean) : "inf"));
  }
  if (previous != nullptr) {
    report.previous_version = previous->version;
    report.psi = psi;
    if (expect.max_psi > 0 && psi) {
      check(
          "psi", *psi <= expect.max_psi,
          fmt::format("PSI of '{}' against version {} is {:.4f}; at most {} allowed",
                      stats.empty() ? "" : stats[0].name, previous->version, *psi, expect.max_psi));
    }
  }
  return report;
}

}  // namespace strata::batch
