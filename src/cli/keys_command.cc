#include "cli/keys_command.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "api/auth/key_set.h"
#include "api/auth/secret_hash.h"
#include "fmt/format.h"
#include "yaml-cpp/yaml.h"

namespace strata::cli {
namespace {

struct AddFlags {
  std::string file;
  std::string id;
  std::string tenant;
  std::vector<std::string> scopes = {"infer", "metadata"};
  std::vector<std::string> models = {"*"};
  std::string expires;
};

int Hash() {
  std::string secret;
  std::getline(std::cin, secret);
  if (secret.empty()) {
    std::cerr
        << "strata keys hash: give the secret on stdin, e.g. echo -n sk_... | strata keys hash\n";
    return 2;
  }
  std::cout << api::auth::DigestHex(api::auth::Sha256(secret)) << "\n";
  return 0;
}

YAML::Node Entry(const AddFlags& flags, const std::string& secret) {
  YAML::Node entry;
  entry["id"] = flags.id;
  entry["tenant"] = flags.tenant;
  entry["secret_sha256"] = api::auth::DigestHex(api::auth::Sha256(secret));
  for (const std::string& scope : flags.scopes) entry["scopes"].push_back(scope);
  for (const std::string& model : flags.models) entry["models"].push_back(model);
  if (!flags.expires.empty()) entry["expires"] = flags.expires;
  return entry;
}

// Writes `text` to `path` by a rename, so a server never reads half a file.
absl::Status WriteAtomically(const std::string& path, const std::string& text) {
  const std::string temporary = fmt::format("{}.tmp.{}", path, getpid());
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    if (!out.flush()) return absl::UnavailableError(fmt::format("cannot write {}", temporary));
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) return absl::UnavailableError(fmt::format("cannot replace {}: {}", path, ec.message()));
  return absl::OkStatus();
}

int Add(const AddFlags& flags) {
  YAML::Node root;
  try {
    root = std::filesystem::exists(flags.file) ? YAML::LoadFile(flags.file) : YAML::Node();
  } catch (const YAML::Exception& e) {
    std::cerr << fmt::format("strata keys add: {}: {}\n", flags.file, e.what());
    return 2;
  }
  if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  absl::StatusOr<std::string> secret = api::auth::NewSecret();
  if (!secret.ok()) {
    std::cerr << "strata keys add: " << secret.status().message() << "\n";
    return 1;
  }
  root["keys"].push_back(Entry(flags, *secret));
  YAML::Emitter emitter;
  emitter << root;
  const std::string text = std::string(emitter.c_str()) + "\n";
  if (absl::StatusOr<api::auth::KeySet> check = api::auth::ParseKeySet(text); !check.ok()) {
    std::cerr << "strata keys add: " << check.status().message() << "\n";
    return 2;
  }
  if (absl::Status s = WriteAtomically(flags.file, text); !s.ok()) {
    std::cerr << "strata keys add: " << s.message() << "\n";
    return 1;
  }
  std::cerr << fmt::format("added key '{}' (tenant '{}') to {}; its secret, shown only now:\n",
                           flags.id, flags.tenant, flags.file);
  std::cout << *secret << "\n";
  return 0;
}

}  // namespace

void AddKeysCommand(CLI::App& app) {
  CLI::App* keys = app.add_subcommand("keys", "Make API keys for `strata serve --keys-file`");
  keys->require_subcommand(1);
  CLI::App* hash = keys->add_subcommand(
      "hash",
      "Print the SHA-256 (hex) of a secret read from stdin: its keys file entry's "
      "secret_sha256");
  hash->callback([] { throw CLI::RuntimeError(Hash()); });
  auto flags = std::make_shared<AddFlags>();
  CLI::App* add = keys->add_subcommand(
      "add",
      "Make a new secret, add its entry to the keys file (created if missing) and "
      "print the secret on stdout");
  add->add_option("--file", flags->file, "The keys file")->required();
  add->add_option("--id", flags->id, "The key's name (unique in the file)")->required();
  add->add_option("--tenant", flags->tenant, "Its tenant (rate limits and metrics)")->required();
  add->add_option("--scopes", flags->scopes, "infer, metadata, control, metrics")
      ->delimiter(',')
      ->capture_default_str();
  add->add_option("--models", flags->models, "Models and endpoints it may use; * for all")
      ->delimiter(',')
      ->capture_default_str();
  add->add_option("--expires", flags->expires, "UTC expiry, e.g. 2027-06-30T00:00:00Z");
  add->callback([flags] { throw CLI::RuntimeError(Add(*flags)); });
}

}  // namespace strata::cli
