#include "cli/model_command.h"

#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "api/http_client.h"
#include "fmt/format.h"
#include "store/artifact_verifier.h"

namespace strata::cli {
namespace {

struct ModelFlags {
  std::string url = "http://127.0.0.1:8000";
  std::string model;
  std::string version;
  std::string label;
};

int Call(const ModelFlags& flags, const std::string& action, const std::string& body) {
  return CallControl({flags.url, "models", flags.model}, action, body);
}

CLI::App* AddAction(CLI::App& model, const std::string& name, const std::string& help,
                    const std::shared_ptr<ModelFlags>& flags) {
  CLI::App* action = model.add_subcommand(name, help);
  action->add_option("model", flags->model, "Model name")->required();
  action->add_option("--url", flags->url, "The server's HTTP address")->capture_default_str();
  return action;
}

// `strata model checksum DIR`: writes DIR/SHA256SUMS listing every file of
// a model or table version directory (docs/security.md).
int WriteChecksums(const std::string& dir) {
  absl::StatusOr<std::string> sums = store::ChecksumsOf(dir);
  if (!sums.ok()) {
    std::cerr << sums.status().message() << "\n";
    return 1;
  }
  const std::filesystem::path path = std::filesystem::path(dir) / store::kChecksumsFile;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << *sums;
  if (!out.flush()) {
    std::cerr << "cannot write " << path.string() << "\n";
    return 1;
  }
  std::cout << "wrote " << path.string() << "\n";
  return 0;
}

}  // namespace

void AddModelCommand(CLI::App& app) {
  auto flags = std::make_shared<ModelFlags>();
  CLI::App* model = app.add_subcommand(
      "model", "Control the models of a running server (needs `strata serve --control-api`)");
  model->require_subcommand(1);

  AddAction(*model, "rollback",
            "Make the previous default version (the last known good) the default again", flags)
      ->callback([flags] { throw CLI::RuntimeError(Call(*flags, "rollback", "")); });
  AddAction(*model, "load", "Re-read the model from disk and load its versions", flags)
      ->callback([flags] { throw CLI::RuntimeError(Call(*flags, "load", "")); });
  AddAction(*model, "unload", "Unload every version of the model", flags)->callback([flags] {
    throw CLI::RuntimeError(Call(*flags, "unload", ""));
  });
  CLI::App* def = AddAction(*model, "default",
                            "Pin the default version, or 'latest' to follow the newest", flags);
  def->add_option("version", flags->version, "Version number or 'latest'")->required();
  def->callback(
      [flags] { throw CLI::RuntimeError(Call(*flags, "default", DefaultBody(flags->version))); });
  CLI::App* label = AddAction(*model, "label", "Point a label (e.g. canary) at a version", flags);
  label->add_option("label", flags->label, "Label name, e.g. stable or canary")->required();
  label->add_option("version", flags->version, "Version number, or 'none' to remove the label")
      ->required();
  label->callback([flags] {
    throw CLI::RuntimeError(Call(*flags, "labels", LabelBody(flags->label, flags->version)));
  });
  CLI::App* checksum = model->add_subcommand(
      "checksum",
      "Write SHA256SUMS in a model (or table) version directory, listing every file it holds; "
      "sign it with openssl for `serve --trusted-key` (docs/security.md)");
  checksum->add_option("dir", flags->model, "Version directory, e.g. models/adder/3")
      ->required()
      ->check(CLI::ExistingDirectory);
  checksum->callback([flags] { throw CLI::RuntimeError(WriteChecksums(flags->model)); });
}

int CallControl(const ControlCall& call, const std::string& action, const std::string& body) {
  absl::StatusOr<api::HttpResponse> response = api::HttpRequest(
      "POST", call.url, fmt::format("/v2/repository/{}/{}/{}", call.kind, call.name, action), body);
  if (!response.ok()) {
    std::cerr << "strata " << (call.kind == "tables" ? "table " : "model ") << action << ": "
              << response.status().message() << "\n";
    return 1;
  }
  (response->status == 200 ? std::cout : std::cerr) << response->body << "\n";
  return response->status == 200 ? 0 : 1;
}

std::string DefaultBody(const std::string& version) {
  const std::string v = version == "latest" ? "\"latest\"" : fmt::format("\"{}\"", version);
  return fmt::format(R"({{"version": {}}})", v);
}

std::string LabelBody(const std::string& label, const std::string& version) {
  const std::string v = version == "none" ? "null" : fmt::format("\"{}\"", version);
  return fmt::format(R"({{"label": "{}", "version": {}}})", label, v);
}

}  // namespace strata::cli
