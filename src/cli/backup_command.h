// `strata backup` and `strata restore`: disaster recovery for a repository
// (model versions, labels and pins in config.yaml, table versions in RocksDB
// and Redis), with SHA-256 checksums; see repository_backup.h and
// repository_restore.h, and docs/backup.md.
#ifndef STRATA_CLI_BACKUP_COMMAND_H_
#define STRATA_CLI_BACKUP_COMMAND_H_

#include "CLI/CLI.hpp"

namespace strata::cli {

void AddBackupCommands(CLI::App& app);

}  // namespace strata::cli

#endif  // STRATA_CLI_BACKUP_COMMAND_H_
