// strata: one binary for serving machine-learning predictions.
#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "cli/advise_command.h"
#include "cli/backup_command.h"
#include "cli/batch_command.h"
#include "cli/check_command.h"
#include "cli/experiment_command.h"
#include "cli/features_command.h"
#include "cli/keys_command.h"
#include "cli/model_command.h"
#include "cli/rollout_command.h"
#include "cli/serve_command.h"
#include "cli/table_command.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  // Debian builds Abseil without NDEBUG, so every absl::Mutex (gRPC's own
  // included) records a lock graph and a stack trace for deadlock detection:
  // about 3 us of CPU per gRPC call, more with TLS (docs/benchmarks.md, issue
  // 15). Lock order is checked by clang's thread-safety analysis and TSan.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{
      "strata serves machine-learning predictions over the KServe v2 / Open "
      "Inference Protocol.\nExample: strata serve --repository "
      "examples/repository --port 8000",
      "strata"};
  app.set_version_flag("--version", "strata 0.1.0");
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.parse_complete_callback([&] { spdlog::set_level(spdlog::level::from_str(log_level)); });
  strata::cli::AddServeCommand(app);
  strata::cli::AddModelCommand(app);
  strata::cli::AddBatchCommand(app);
  strata::cli::AddFeaturesCommand(app);
  strata::cli::AddTableCommand(app);
  strata::cli::AddRolloutCommand(app);
  strata::cli::AddAdviseCommand(app);
  strata::cli::AddBackupCommands(app);
  strata::cli::AddKeysCommand(app);
  strata::cli::AddCheckCommand(app);
  strata::cli::AddExperimentCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    // `strata check` promises 2 for every usage error, CLI11's own included.
    const bool check_usage = code != 0 && dynamic_cast<const CLI::RuntimeError*>(&e) == nullptr &&
                             app.got_subcommand("check");
    return check_usage ? strata::cli::kCheckUsageError : code;
  }
  return 0;
}
