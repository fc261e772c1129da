#include "cli/rollout_command.h"

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "api/http_client.h"
#include "core/text_escape.h"
#include "fmt/format.h"
#include "fmt/ranges.h"

namespace strata::cli {
namespace {

struct RolloutFlags {
  std::string url = "http://127.0.0.1:8000";
  std::string endpoint;
  std::string candidate;
  std::string steps;
  std::vector<std::string> gates;
  std::string load_timeout;
};

// The start body: the flags as JSON strings.
std::string StartBody(const RolloutFlags& f) {
  std::vector<std::string> gates;
  for (const std::string& g : f.gates) gates.push_back(core::JsonString(g));
  std::string body = fmt::format(R"({{"candidate": {}, "gates": [{}])",
                                 core::JsonString(f.candidate), fmt::join(gates, ", "));
  if (!f.steps.empty()) body += fmt::format(R"(, "steps": {})", core::JsonString(f.steps));
  if (!f.load_timeout.empty()) {
    body += fmt::format(R"(, "load_timeout": {})", core::JsonString(f.load_timeout));
  }
  return body + "}";
}

int Call(const RolloutFlags& f, const std::string& action, const std::string& body) {
  absl::StatusOr<api::HttpResponse> response = api::HttpRequest(
      "POST", f.url, fmt::format("/v2/repository/endpoints/{}/rollout/{}", f.endpoint, action),
      body);
  if (!response.ok()) {
    std::cerr << "strata rollout " << action << ": " << response.status().message() << "\n";
    return 1;
  }
  (response->status == 200 ? std::cout : std::cerr) << response->body << "\n";
  return response->status == 200 ? 0 : 1;
}

CLI::App* Verb(CLI::App& rollout, const std::string& name, const std::string& help,
               std::shared_ptr<RolloutFlags> f) {
  CLI::App* cmd = rollout.add_subcommand(name, help);
  cmd->add_option("endpoint", f->endpoint, "The split endpoint")->required();
  cmd->add_option("--url", f->url, "The server's HTTP address (--control-api)")
      ->capture_default_str();
  return cmd;
}

}  // namespace

void AddRolloutCommand(CLI::App& app) {
  CLI::App* rollout = app.add_subcommand(
      "rollout",
      "Ramp a candidate model version through a split endpoint's canary arm, judged "
      "against the stable arm step by step (docs/serving.md: Rollouts)");
  rollout->require_subcommand(1);
  auto f = std::make_shared<RolloutFlags>();
  CLI::App* start =
      Verb(*rollout, "start", "Start a rollout: check the candidate, then ramp it", f);
  start->add_option("--candidate", f->candidate, "MODEL@VERSION to roll out")->required();
  start->add_option("--steps", f->steps,
                    "WEIGHT[:MIN_DURATION[:MIN_REQUESTS]],... e.g. 5:60s:200,25:60s:500,100 "
                    "(default 5:60s:200,25:60s:500,50:60s:1000,100)");
  start->add_option(
      "--gate", f->gates,
      "A gate, repeatable: error[:MIN_DIFF], latency[:P99_RATIO], "
      "quality[:MIN_DIFF], z:CRITICAL, min-samples:N, latency-min-ms:N (default: error and "
      "latency)");
  start->add_option("--load-timeout", f->load_timeout,
                    "How long the candidate may take to be ready, e.g. 60s (default 60s)");
  start->callback([f] { throw CLI::RuntimeError(Call(*f, "start", StartBody(*f))); });
  const std::pair<const char*, const char*> verbs[] = {
      {"status", "Print the rollout's state, step, gates and history (JSON)"},
      {"pause", "Hold the rollout on its step"},
      {"resume", "Judge the paused step again"},
      {"abort", "End the rollout: the stable arm takes all the traffic"},
      {"promote", "Promote the candidate now: it becomes the stable arm at 100%"}};
  for (const auto& [name, help] : verbs) {
    Verb(*rollout, name, help, f)->callback([f, action = std::string(name)] {
      throw CLI::RuntimeError(Call(*f, action, ""));
    });
  }
}

}  // namespace strata::cli
