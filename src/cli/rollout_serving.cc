#include "cli/rollout_serving.h"

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "check/run_checks.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace strata::cli {
namespace {

// The server's URL, waiting up to 10 s for it to listen (a rollout resumed
// at start may reach its check before the REST listener is up).
absl::StatusOr<std::string> WaitForSelfUrl(const SelfUrl& self_url) {
  for (int i = 0; i < 100; ++i) {
    if (std::optional<std::string> url = self_url()) return *url;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::UnavailableError("the REST listener is not up for the pre-traffic checks");
}

absl::StatusOr<std::string> ReadCheckKey(const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream in(path);
  std::string key;
  if (!in || !std::getline(in, key)) {
    return absl::NotFoundError(fmt::format("cannot read --rollout-check-key {}", path));
  }
  return std::string(absl::StripAsciiWhitespace(key));
}

// "error_handling: wrong datatype got 500; load: p99 140 ms > 100 ms".
std::string FailedChecks(const check::CheckReport& report) {
  std::string out;
  for (const check::CheckResult& result : report.results) {
    if (result.status != check::CheckStatus::kFail) continue;
    if (!out.empty()) out += "; ";
    out += std::string(check::CheckKindName(result.kind)) + ": " + result.reason;
  }
  return out;
}

}  // namespace

std::optional<serving::QualityStats> FeedbackQualitySource::Quality(
    const serving::QualityQuery& query) const {
  // The window's start on the steady clock the outcomes are kept by.
  const auto age = std::chrono::system_clock::now() - query.since;
  const auto since = serving::OutcomeWindow::Clock::now() -
                     std::chrono::duration_cast<serving::OutcomeWindow::Clock::duration>(age);
  const serving::WindowOutcome outcome = outcomes_->Since(query.endpoint, query.arm, since);
  if (outcome.count == 0) return std::nullopt;
  return serving::QualityStats{.count = static_cast<int64_t>(outcome.count),
                               .mean_loss = outcome.mean_loss,
                               .variance = outcome.variance};
}

serving::CandidateCheck PreTrafficCheck(const RolloutServeFlags& flags,
                                        const std::string& repository, SelfUrl self_url) {
  return [flags, repository, self_url](const serving::RolloutCandidate& candidate) -> absl::Status {
    absl::StatusOr<std::string> url = WaitForSelfUrl(self_url);
    if (!url.ok()) return url.status();
    absl::StatusOr<std::string> key = ReadCheckKey(flags.check_key_file);
    if (!key.ok()) return key.status();
    check::CheckOptions options;
    options.repository = repository;
    options.rate = flags.check_rate;
    options.duration = std::chrono::milliseconds(flags.check_ms);
    options.p99_ms = flags.check_p99_ms;
    absl::StatusOr<check::CheckReport> report = check::RunChecks(
        {.url = *url, .model = candidate.model, .version = candidate.version, .bearer_token = *key},
        options);
    if (absl::IsNotFound(report.status())) {
      spdlog::warn("rollout of {}@{}: pre-traffic checks skipped: {}", candidate.model,
                   candidate.version, std::string(report.status().message()));
      return absl::OkStatus();
    }
    if (!report.ok()) return report.status();
    spdlog::info("rollout of {}@{}: pre-traffic checks:\n{}", candidate.model, candidate.version,
                 check::FormatReportText(*report));
    if (report->Passed()) return absl::OkStatus();
    return absl::FailedPreconditionError("pre-traffic checks failed: " + FailedChecks(*report));
  };
}

ThompsonRouting::ThompsonRouting(std::unique_ptr<serving::ThompsonRouter> router,
                                 std::chrono::milliseconds tick)
    : router_(std::move(router)), tick_(tick), since_(serving::OutcomeWindow::Clock::now()) {
  thread_ = std::thread([this] { Loop(); });
}

ThompsonRouting::~ThompsonRouting() {
  {
    core::MutexLock lock(mutex_);
    stopping_ = true;
  }
  stop_cv_.SignalAll();
  thread_.join();
}

void ThompsonRouting::Loop() {
  while (true) {
    {
      core::MutexLock lock(mutex_);
      const auto wake = std::chrono::steady_clock::now() + tick_;
      while (!stopping_ && stop_cv_.WaitUntil(mutex_, wake)) {
      }
      if (stopping_) return;
    }
    router_->Tick(since_);
  }
}

absl::StatusOr<std::unique_ptr<serving::RolloutManager>> StartRollouts(
    const RolloutServeFlags& flags, const std::string& repository, const serving::ServerCore& core,
    SelfUrl self_url, std::shared_ptr<const serving::OutcomeWindow> outcomes,
    std::vector<std::shared_ptr<serving::SplitEndpoint>> splits) {
  if (splits.empty()) return nullptr;
  const std::filesystem::path dir = flags.state_dir.empty()
                                        ? std::filesystem::path(repository) / ".strata" / "rollouts"
                                        : std::filesystem::path(flags.state_dir);
  // Ready: the core serves the candidate's version and it is ready.
  serving::CandidateCheck ready = [&core](const serving::RolloutCandidate& candidate) {
    absl::StatusOr<std::shared_ptr<const serving::ServedModel>> served =
        core.FindModel(candidate.model, candidate.version);
    if (!served.ok()) return served.status();
    if (!(*served)->ready()) {
      return absl::UnavailableError(fmt::format("{}@{} is not ready: {}", candidate.model,
                                                candidate.version, (*served)->reason));
    }
    return absl::OkStatus();
  };
  absl::StatusOr<std::unique_ptr<serving::RolloutManager>> manager =
      serving::RolloutManager::Create(
          {.state_dir = dir,
           .tick = std::chrono::milliseconds(flags.tick_ms),
           .ready = std::move(ready),
           .check =
               flags.checks ? PreTrafficCheck(flags, repository, std::move(self_url)) : nullptr,
           .quality =
               outcomes ? std::make_shared<FeedbackQualitySource>(std::move(outcomes)) : nullptr,
           .time = nullptr},
          std::move(splits));
  if (!manager.ok()) return manager.status();
  (*manager)->Run();
  spdlog::info("rollouts: state in {}, judged every {} ms", dir.string(), flags.tick_ms);
  return manager;
}

}  // namespace strata::cli
