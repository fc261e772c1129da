#include "cli/model_command.h"

#include <iostream>
#include <memory>
#include <string>

#include "api/http_client.h"
#include "fmt/format.h"

namespace strata::cli {
namespace {

struct ModelFlags {
  std::string url = "http://127.0.0.1:8000";
  std::string model;
  std::string version;
  std::string label;
};

// POSTs to the control API and prints the server's answer.
int Call(const ModelFlags& flags, const std::string& action, const std::string& body) {
  absl::StatusOr<api::HttpResponse> response = api::HttpRequest(
      "POST", flags.url, fmt::format("/v2/repository/models/{}/{}", flags.model, action), body);
  if (!response.ok()) {
    std::cerr << "strata model " << action << ": " << response.status().message() << "\n";
    return 1;
  }
  (response->status == 200 ? std::cout : std::cerr) << response->body << "\n";
  return response->status == 200 ? 0 : 1;
}

CLI::App* AddAction(CLI::App& model, const std::string& name, const std::string& help,
                    const std::shared_ptr<ModelFlags>& flags) {
  CLI::App* action = model.add_subcommand(name, help);
  action->add_option("model", flags->model, "Model name")->required();
  action->add_option("--url", flags->url, "The server's HTTP address")->capture_default_str();
  return action;
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
  def->callback([flags] {
    const std::string version =
        flags->version == "latest" ? "\"latest\"" : fmt::format("\"{}\"", flags->version);
    throw CLI::RuntimeError(Call(*flags, "default", fmt::format(R"({{"version": {}}})", version)));
  });
  CLI::App* label = AddAction(*model, "label", "Point a label (e.g. canary) at a version", flags);
  label->add_option("label", flags->label, "Label name, e.g. stable or canary")->required();
  label->add_option("version", flags->version, "Version number, or 'none' to remove the label")
      ->required();
  label->callback([flags] {
    const std::string version =
        flags->version == "none" ? "null" : fmt::format("\"{}\"", flags->version);
    throw CLI::RuntimeError(
        Call(*flags, "labels",
             fmt::format(R"({{"label": "{}", "version": {}}})", flags->label, version)));
  });
}

}  // namespace strata::cli
