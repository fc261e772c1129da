// `strata model`: model control against a running server (rollback, load,
// unload, default, label), through its control API.
#ifndef STRATA_CLI_MODEL_COMMAND_H_
#define STRATA_CLI_MODEL_COMMAND_H_

#include <string>

#include "CLI/CLI.hpp"

namespace strata::cli {

void AddModelCommand(CLI::App& app);

// What a servable's control verbs send: kind "models" or "tables".
struct ControlCall {
  std::string url;   // the server's HTTP address
  std::string kind;  // models | tables
  std::string name;  // the model or table
};
// POSTs `body` to /v2/repository/{kind}/{name}/{action} and prints the
// server's answer (stdout on 200, else stderr). Returns the exit code.
int CallControl(const ControlCall& call, const std::string& action, const std::string& body);
// The bodies of the default and label verbs: `version` is a number,
// "latest" (default) or "none" (label: removes it).
std::string DefaultBody(const std::string& version);
std::string LabelBody(const std::string& label, const std::string& version);

}  // namespace strata::cli

#endif  // STRATA_CLI_MODEL_COMMAND_H_
