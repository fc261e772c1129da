#include "cli/backup_command.h"

#include <chrono>
#include <memory>
#include <string>

#include "cli/repository_backup.h"
#include "cli/repository_restore.h"
#include "fmt/format.h"

namespace strata::cli {
namespace {

struct BackupFlags {
  std::string repository;
  std::string tables;
  std::string redis;
  std::string output;
  std::string backup;
  bool current_only = false;
  bool skip_corrupt = false;
  bool prune = false;
  bool dry_run = false;
  std::string progress = "auto";
};

ProgressMode Progress(const BackupFlags& f) {
  return f.progress == "lines" ? ProgressMode::kLines
         : f.progress == "off" ? ProgressMode::kOff
                               : ProgressMode::kAuto;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int RunBackup(const BackupFlags& f) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<BackupSummary> summary = RepositoryBackup::Write({.repository = f.repository,
                                                                   .tables = f.tables,
                                                                   .redis = f.redis,
                                                                   .output = f.output,
                                                                   .current_only = f.current_only,
                                                                   .skip_corrupt = f.skip_corrupt,
                                                                   .progress = Progress(f)});
  if (!summary.ok()) {
    fmt::print(stderr, "strata backup: {}\n", std::string(summary.status().message()));
    return 1;
  }
  for (const std::string& s : summary->skipped) {
    fmt::print(stderr, "left out (damaged): {}\n", s);
  }
  fmt::print(
      "backup {}: {} model versions, {} table versions, {} files, {} in {:.1f} "
      "s\n",
      f.output, summary->model_versions, summary->table_versions, summary->files,
      HumanBytes(summary->bytes), SecondsSince(start));
  fmt::print("check it: strata restore {} -r {} --dry-run\n", f.output, f.repository);
  return summary->skipped.empty() ? 0 : 2;
}

void PrintRestore(const RestoreSummary& s, const BackupFlags& f) {
  const char* verb = f.dry_run ? "would restore" : "restored";
  for (const std::string& name : s.restored) fmt::print("{}: {}\n", verb, name);
  for (const std::string& line : s.verified) fmt::print("verified: {}\n", line);
  for (const std::string& name : s.extras) {
    fmt::print("{}: {} (not in the backup)\n",
               f.prune ? (f.dry_run ? "would remove" : "removed") : "kept", name);
  }
  for (const std::string& note : s.notes) fmt::print("note: {}\n", note);
  fmt::print(
      "{} {} units, {} already intact{}\n", verb, s.restored.size(), s.intact,
      !f.prune && !s.extras.empty() ? "; --prune removes what the backup does not hold" : "");
}

int RunRestore(const BackupFlags& f) {
  absl::StatusOr<RestoreSummary> summary = RepositoryRestore::Run({.backup = f.backup,
                                                                   .repository = f.repository,
                                                                   .tables = f.tables,
                                                                   .redis = f.redis,
                                                                   .prune = f.prune,
                                                                   .dry_run = f.dry_run,
                                                                   .progress = Progress(f)});
  if (!summary.ok()) {
    fmt::print(stderr, "strata restore: {}\n", std::string(summary.status().message()));
    if (summary.status().code() == absl::StatusCode::kDataLoss) {
      fmt::print(stderr, "refused: nothing was restored from {}; use another backup\n", f.backup);
    }
    return 1;
  }
  fmt::print("backup {} verified\n", f.backup);
  PrintRestore(*summary, f);
  return 0;
}

void AddCommonFlags(CLI::App& cmd, BackupFlags& f) {
  cmd.add_option("-r,--repository", f.repository, "The repository (holds models/)")->required();
  cmd.add_option("--tables", f.tables, "RocksDB tables directory (default: <repository>/tables)");
  cmd.add_option("--progress", f.progress, "auto (on a terminal), lines or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "lines", "off"}));
}

}  // namespace

void AddBackupCommands(CLI::App& app) {
  auto f = std::make_shared<BackupFlags>();
  CLI::App* backup =
      app.add_subcommand("backup",
                         "Back up a repository: model versions and their config.yaml (labels, "
                         "pinned default), "
                         "every verified table version (RocksDB files; Redis tables with "
                         "--redis), each file's "
                         "SHA-256.\nExample: strata backup -r repo -o /backups/2026-12-02 --redis "
                         "redis://redis:6379");
  AddCommonFlags(*backup, *f);
  backup->add_option("-o,--output", f->output, "New directory to write the backup into")
      ->required();
  backup->add_option("--redis", f->redis, "Also dump the tables of this Redis server");
  backup->add_flag("--current-only", f->current_only, "Only each table's current version");
  backup->add_flag("--skip-corrupt", f->skip_corrupt,
                   "Leave damaged table versions out (exit 2) instead of failing");
  backup->callback([f] { throw CLI::RuntimeError(RunBackup(*f)); });

  CLI::App* restore = app.add_subcommand("restore",
                                         "Restore a repository from a backup, checking every "
                                         "SHA-256 first: missing or damaged "
                                         "versions and files are written back, table pointers "
                                         "reset, every table verified.\n"
                                         "Example: strata restore /backups/2026-12-02 -r repo "
                                         "--redis redis://redis:6379");
  restore->add_option("backup", f->backup, "Backup directory (written by strata backup)")
      ->required();
  AddCommonFlags(*restore, *f);
  restore->add_option("--redis", f->redis, "Rebuild the backup's Redis tables on this server");
  restore->add_flag("--prune", f->prune,
                    "Remove model and table versions and files the backup does not hold");
  restore->add_flag("--dry-run", f->dry_run, "Verify the backup and report, change nothing");
  restore->callback([f] { throw CLI::RuntimeError(RunRestore(*f)); });
}

}  // namespace strata::cli
