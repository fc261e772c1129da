#include "cli/table_command.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "batch/file_output_writer.h"
#include "cli/model_command.h"
#include "cli/table_gc.h"
#include "cli/table_stores.h"
#include "core/text_escape.h"
#include "fmt/format.h"
#include "store/table_verification.h"

namespace strata::cli {
namespace {

struct TableFlags {
  std::string repository;
  TableStoreFlags store;
  std::string table;
  int64_t version = 0;  // 0: the current version
  std::vector<std::string> key_values;
  std::string output = "-";
  std::string format = "csv";
};

int Fail(const absl::Status& s) {
  fmt::print(stderr, "strata table: {}\n", std::string(s.message()));
  return s.code() == absl::StatusCode::kNotFound ? 4 : 1;
}

// The store, and the version the flags name (the current one by default).
absl::StatusOr<std::unique_ptr<store::TableStore>> Store(const TableFlags& f) {
  return CreateTableStore(f.store, f.repository);
}

absl::StatusOr<int64_t> ChosenVersion(store::TableStore& s, const TableFlags& f) {
  if (f.version > 0) return f.version;
  absl::StatusOr<int64_t> current = s.CurrentVersion(f.table);
  if (!current.ok()) return current.status();
  if (*current == 0) {
    return absl::NotFoundError(
        fmt::format("table '{}' has no versions in {}", f.table, s.location()));
  }
  return *current;
}

// A table version opened for reading: `--version`, else the current one.
struct OpenedVersion {
  std::unique_ptr<store::TableStore> store;
  int64_t version = 0;
  std::shared_ptr<store::PredictionTable> table;
};

absl::StatusOr<OpenedVersion> OpenChosenVersion(const TableFlags& f) {
  OpenedVersion opened;
  absl::StatusOr<std::unique_ptr<store::TableStore>> s = Store(f);
  if (!s.ok()) return s.status();
  opened.store = *std::move(s);
  absl::StatusOr<int64_t> v = ChosenVersion(*opened.store, f);
  if (!v.ok()) return v.status();
  opened.version = *v;
  absl::StatusOr<std::shared_ptr<store::PredictionTable>> table =
      opened.store->Open(f.table, opened.version);
  if (!table.ok()) return table.status();
  opened.table = *std::move(table);
  return opened;
}

// The row's outputs as a JSON object: {"y": 1.5, "scores": [..]}.
std::string OutputsJson(const store::TableManifest& m, std::string_view value) {
  std::string out = "{";
  const char* p = value.data();
  for (size_t o = 0; o < m.outputs.size(); ++o) {
    const store::OutputColumn& column = m.outputs[o];
    if (o) out += ", ";
    core::AppendJsonString(column.name, out);
    out += ": ";
    if (!column.shape.empty()) out += '[';
    for (size_t e = 0; e < column.ElementsPerRow(); ++e) {
      if (e) out += ", ";
      batch::AppendNumber(column.dtype, p, out);
      p += core::ElementSize(column.dtype);
    }
    if (!column.shape.empty()) out += ']';
  }
  return out + "}";
}

int List(const TableFlags& f) {
  absl::StatusOr<std::unique_ptr<store::TableStore>> s = Store(f);
  if (!s.ok()) return Fail(s.status());
  std::vector<std::string> tables = {f.table};
  if (f.table.empty()) {
    absl::StatusOr<std::vector<std::string>> all = (*s)->ListTables();
    if (!all.ok()) return Fail(all.status());
    tables = *all;
  }
  for (const std::string& table : tables) {
    absl::StatusOr<int64_t> current = (*s)->CurrentVersion(table);
    absl::StatusOr<std::vector<int64_t>> versions = (*s)->ListVersions(table);
    if (!current.ok()) return Fail(current.status());
    if (!versions.ok()) return Fail(versions.status());
    fmt::print("table {} ({}, {}): current version {}\n", table, (*s)->kind(), (*s)->location(),
               *current);
    for (int64_t v : *versions) {
      absl::StatusOr<store::TableManifest> m = (*s)->ReadManifest(table, v);
      if (!m.ok()) {
        fmt::print("  {:>4}  unreadable: {}\n", v, std::string(m.status().message()));
        continue;
      }
      fmt::print("  {:>4}{} rows {:>10}  model {} v{}  created {}  checksum {}\n", v,
                 v == *current ? "*" : " ", m->rows, m->model_name, m->model_version, m->created,
                 m->checksum);
    }
  }
  return 0;
}

int Show(const TableFlags& f) {
  absl::StatusOr<std::unique_ptr<store::TableStore>> s = Store(f);
  if (!s.ok()) return Fail(s.status());
  absl::StatusOr<int64_t> v = ChosenVersion(**s, f);
  if (!v.ok()) return Fail(v.status());
  absl::StatusOr<store::TableManifest> m = (*s)->ReadManifest(f.table, *v);
  if (!m.ok()) return Fail(m.status());
  fmt::print("{}", store::ManifestToYaml(*m));
  return 0;
}

int Get(const TableFlags& f) {
  absl::StatusOr<OpenedVersion> opened = OpenChosenVersion(f);
  if (!opened.ok()) return Fail(opened.status());
  const std::shared_ptr<store::PredictionTable>& table = opened->table;
  const store::KeySchema& schema = table->manifest().key;
  if (f.key_values.size() != schema.size()) {
    return Fail(absl::InvalidArgumentError(
        fmt::format("give one value per key column ({}), e.g. name=value", schema.ToString())));
  }
  std::string key;
  for (size_t c = 0; c < schema.size(); ++c) {
    std::string_view text = f.key_values[c];
    const std::string& name = schema.columns()[c].name;
    if (text.starts_with(name + "=")) text.remove_prefix(name.size() + 1);
    if (absl::Status st = schema.AppendText(c, text, key); !st.ok()) return Fail(st);
  }
  absl::StatusOr<store::LookupResult> found = table->MultiGet(std::vector<std::string>{key});
  if (!found.ok()) return Fail(found.status());
  if (!found->found[0]) {
    fmt::print(stderr, "not found in table '{}' version {}\n", f.table, opened->version);
    return 4;
  }
  fmt::print("{}\n", OutputsJson(table->manifest(), found->values[0]));
  return 0;
}

int Export(const TableFlags& f) {
  absl::StatusOr<OpenedVersion> opened = OpenChosenVersion(f);
  if (!opened.ok()) return Fail(opened.status());
  const std::shared_ptr<store::PredictionTable>& table = opened->table;
  const store::TableManifest& m = table->manifest();
  // stdout: through a temporary file, since the writer renames into place.
  const std::string path =
      f.output == "-" ? fmt::format("/tmp/strata-export-{}.out", ::getpid()) : f.output;
  absl::StatusOr<std::unique_ptr<batch::FileOutputWriter>> writer = batch::FileOutputWriter::Create(
      path, f.format == "jsonl" ? batch::OutputFormat::kJsonl : batch::OutputFormat::kCsv, m.key,
      m.outputs);
  if (!writer.ok()) return Fail(writer.status());
  std::vector<std::string> texts;
  std::vector<std::string_view> views;
  absl::Status scanned = table->Scan([&](std::string_view key, std::string_view value) {
    absl::StatusOr<std::vector<store::KeyValue>> values = m.key.Decode(key);
    if (!values.ok()) return values.status();
    texts.clear();
    for (const store::KeyValue& kv : *values) {
      std::visit([&](const auto& x) { texts.push_back(fmt::format("{}", x)); }, kv);
    }
    views.assign(texts.begin(), texts.end());
    return (*writer)->Write(views, value);
  });
  if (!scanned.ok()) return Fail(scanned);
  if (absl::Status st = (*writer)->Finish(); !st.ok()) return Fail(st);
  if (f.output == "-") {
    std::ifstream in(path, std::ios::binary);
    std::cout << in.rdbuf();
    std::remove(path.c_str());
  }
  return 0;
}

// Opens the version (the store checks its data), recomputes its row count
// and checksum against the manifest, and refuses a version that failed its
// checks when it was built.
absl::Status VerifyVersion(store::TableStore& s, const std::string& table, int64_t v) {
  if (absl::Status st = store::VerifyTableVersion(s, table, v); !st.ok()) return st;
  absl::StatusOr<store::TableManifest> m = s.ReadManifest(table, v);
  if (!m.ok()) return m.status();
  if (!m->verification.passed) {
    return absl::FailedPreconditionError(
        fmt::format("table '{}' version {} failed verification when it was built", table, v));
  }
  return absl::OkStatus();
}

int Verify(const TableFlags& f) {
  absl::StatusOr<std::unique_ptr<store::TableStore>> s = Store(f);
  if (!s.ok()) return Fail(s.status());
  absl::StatusOr<int64_t> v = ChosenVersion(**s, f);
  if (!v.ok()) return Fail(v.status());
  if (absl::Status st = VerifyVersion(**s, f.table, *v); !st.ok()) return Fail(st);
  absl::StatusOr<store::TableManifest> m = (*s)->ReadManifest(f.table, *v);
  fmt::print("table '{}' version {}: ok ({} rows, checksum {})\n", f.table, *v, m->rows,
             m->checksum);
  return 0;
}

int Publish(const TableFlags& f, bool rollback) {
  absl::StatusOr<std::unique_ptr<store::TableStore>> s = Store(f);
  if (!s.ok()) return Fail(s.status());
  int64_t target = f.version;
  if (rollback) {
    absl::StatusOr<int64_t> current = (*s)->CurrentVersion(f.table);
    absl::StatusOr<std::vector<int64_t>> versions = (*s)->ListVersions(f.table);
    if (!current.ok()) return Fail(current.status());
    if (!versions.ok()) return Fail(versions.status());
    target = 0;
    for (int64_t v : *versions) {
      if (v < *current) target = v;
    }
    if (target == 0) {
      return Fail(absl::NotFoundError(
          fmt::format("table '{}' has no version before {} to roll back to", f.table, *current)));
    }
  }
  if (absl::Status st = VerifyVersion(**s, f.table, target); !st.ok()) {
    fmt::print(stderr, "not published: ");
    return Fail(st);
  }
  if (absl::Status st = (*s)->SetCurrentVersion(f.table, target); !st.ok()) return Fail(st);
  fmt::print("table '{}': version {} is current\n", f.table, target);
  return 0;
}

int Gc(const TableFlags& f, int64_t grace_seconds, bool dry_run) {
  absl::StatusOr<TableGcResult> result = CollectTableGarbage(
      {.store = f.store,
       .repository = f.repository,
       .tables = f.table.empty() ? std::vector<std::string>{} : std::vector{f.table},
       .grace_seconds = grace_seconds,
       .dry_run = dry_run});
  if (!result.ok()) return Fail(result.status());
  for (const std::string& line : result->removed) {
    fmt::print("{}: {}\n", dry_run ? "would remove" : "removed", line);
  }
  for (const std::string& line : result->kept) {
    fmt::print("kept (touched within the last {} s; a writer may still be running): {}\n",
               grace_seconds, line);
  }
  if (result->removed.empty() && result->kept.empty()) fmt::print("nothing to collect\n");
  return 0;
}

CLI::App* Sub(CLI::App& parent, const std::string& name, const std::string& help,
              const std::shared_ptr<TableFlags>& f, bool needs_table) {
  CLI::App* cmd = parent.add_subcommand(name, help);
  cmd->add_option("-r,--repository", f->repository, "Repository (tables in <repository>/tables)");
  AddTableStoreFlags(*cmd, f->store);
  CLI::Option* table = cmd->add_option("table", f->table, "Table name");
  if (needs_table) table->required();
  return cmd;
}

// A verb that talks to a running server's control API
// (/v2/repository/tables/...; needs `strata serve --control-api`).
CLI::App* ServerVerb(CLI::App& table, const std::string& name, const std::string& help,
                     const std::shared_ptr<ControlCall>& call) {
  CLI::App* cmd = table.add_subcommand(name, help + " (on a running server: --url)");
  cmd->add_option("table", call->name, "Table name")->required();
  cmd->add_option("--url", call->url, "The server's HTTP address")->capture_default_str();
  return cmd;
}

void AddServerVerbs(CLI::App& table, const std::shared_ptr<TableFlags>& f) {
  auto call = std::make_shared<ControlCall>(ControlCall{"http://127.0.0.1:8000", "tables", ""});
  auto version = std::make_shared<std::string>();
  auto label = std::make_shared<std::string>();
  // Without --url, rollback moves the store's pointer (every server follows);
  // with it, one server pins its previous version (the pointer stays).
  auto url = std::make_shared<std::string>();
  CLI::App* rollback =
      Sub(table, "rollback",
          "Make the version before the current one current again; with --url, make a running "
          "server's previous version its default (pinned) instead",
          f, true);
  rollback->add_option("--url", *url, "A running server's HTTP address (control API)");
  rollback->callback([f, url] {
    const int code =
        url->empty() ? Publish(*f, true) : CallControl({*url, "tables", f->table}, "rollback", "");
    throw CLI::RuntimeError(code);
  });
  ServerVerb(table, "load", "Follow the table again, retrying versions that failed", call)
      ->callback([call] { throw CLI::RuntimeError(CallControl(*call, "load", "")); });
  ServerVerb(table, "unload", "Stop following the table: its versions drain and close", call)
      ->callback([call] { throw CLI::RuntimeError(CallControl(*call, "unload", "")); });
  CLI::App* def = ServerVerb(
      table, "default", "Pin the default version, or 'latest' to follow the published one", call);
  def->add_option("version", *version, "Version number or 'latest'")->required();
  def->callback([call, version] {
    throw CLI::RuntimeError(CallControl(*call, "default", DefaultBody(*version)));
  });
  CLI::App* lab = ServerVerb(table, "label", "Point a label (e.g. canary) at a version", call);
  lab->add_option("label", *label, "Label name, e.g. stable or canary")->required();
  lab->add_option("version", *version, "Version number, or 'none' to remove the label")->required();
  lab->callback([call, label, version] {
    throw CLI::RuntimeError(CallControl(*call, "labels", LabelBody(*label, *version)));
  });
}

}  // namespace

void AddTableCommand(CLI::App& app) {
  auto f = std::make_shared<TableFlags>();
  CLI::App* table = app.add_subcommand(
      "table", "Inspect and manage prediction tables.\nExample: strata table list -r repo");
  table->require_subcommand(1);
  auto run = [](CLI::App* cmd, std::function<int()> body) {
    cmd->callback([body] { throw CLI::RuntimeError(body()); });
  };
  run(Sub(*table, "list", "List tables and their versions (* = current)", f, false),
      [f] { return List(*f); });
  CLI::App* show =
      Sub(*table, "show", "Print a version's manifest and verification report", f, true);
  show->add_option("--version", f->version, "Version (default: current)");
  run(show, [f] { return Show(*f); });
  CLI::App* get =
      Sub(*table, "get", "Look up one key: strata table get T store_id=1 date=x", f, true);
  get->add_option("key", f->key_values, "One value per key column, in order (name=value)")
      ->required();
  get->add_option("--version", f->version, "Version (default: current)");
  run(get, [f] { return Get(*f); });
  CLI::App* exp = Sub(*table, "export", "Write every row to CSV or JSON Lines", f, true);
  exp->add_option("--version", f->version, "Version (default: current)");
  exp->add_option("-o,--output", f->output, "Output file, or - for stdout")->capture_default_str();
  exp->add_option("--format", f->format, "csv or jsonl")
      ->capture_default_str()
      ->check(CLI::IsMember({"csv", "jsonl"}));
  run(exp, [f] { return Export(*f); });
  CLI::App* verify = Sub(*table, "verify", "Check a version's data against its manifest", f, true);
  verify->add_option("--version", f->version, "Version (default: current)");
  run(verify, [f] { return Verify(*f); });
  CLI::App* publish = Sub(*table, "publish", "Verify a version and make it current", f, true);
  publish->add_option("version", f->version, "Version to publish")->required();
  run(publish, [f] { return Publish(*f, false); });
  AddServerVerbs(*table, f);
  auto grace = std::make_shared<int64_t>(3600);
  auto dry_run = std::make_shared<bool>(false);
  CLI::App* gc = Sub(*table, "gc",
                     "Remove what killed writers left: uncommitted Redis versions and RocksDB "
                     "build directories nothing has touched for --grace seconds (all tables "
                     "when none is named)",
                     f, false);
  gc->add_option("--grace", *grace,
                 "Seconds without a write or read before a leftover counts as abandoned; 0 "
                 "removes every leftover now (only while no batch job writes)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  gc->add_flag("--dry-run", *dry_run, "List what would be removed, remove nothing");
  run(gc, [f, grace, dry_run] { return Gc(*f, *grace, *dry_run); });
}

}  // namespace strata::cli
