#include "serving/lifecycle/table_registry.h"

#include <future>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "serving/lifecycle/table_lifecycle.h"
#include "spdlog/spdlog.h"

namespace strata::serving {
namespace {

// How often drained versions are looked at while polls are off.
constexpr std::chrono::milliseconds kReapInterval{100};

}  // namespace

TableRegistry::TableRegistry(TableRegistryOptions options)
    : options_(std::move(options)),
      time_(options_.time != nullptr ? *options_.time : RealTimeSource()),
      drain_(time_),
      tables_(std::make_shared<const TableMap>()),
      executor_(options_.executor ? std::move(options_.executor)
                                  : std::make_unique<ThreadExecutor>()) {
  next_poll_ = time_.Now() + options_.poll_interval;
  executor_->Start([this] { return Tick(); });
}

TableRegistry::~TableRegistry() {
  executor_->Stop();
  for (const auto& [name, table] : *Tables()) table->Close();
  drain_.Reap();
}

std::shared_ptr<TableLifecycle> TableRegistry::Lookup(std::string_view table) const {
  std::shared_ptr<const TableMap> tables = Tables();
  auto it = tables->find(table);
  return it == tables->end() ? nullptr : it->second;
}

absl::Status TableRegistry::Follow(std::string table, TableFollowOptions options) {
  if (absl::Status s = store::ValidateTableName(table); !s.ok()) return s;
  if (!options.store) options.store = options_.default_store;
  std::lock_guard lock(follow_mutex_);
  if (std::shared_ptr<TableLifecycle> followed = Lookup(table)) {
    const std::string store_kind = followed->snapshot()->store_kind;
    if (options.store && options.store->kind() != store_kind) {
      return absl::FailedPreconditionError(
          fmt::format("table '{}' is already followed from the {} store, not {}", table, store_kind,
                      options.store->kind()));
    }
    executor_->Post([followed, key = std::move(options.key), bytes = options.in_memory_bytes] {
      followed->Require(key, bytes);
    });
    return absl::OkStatus();
  }
  if (!options.store) {
    return absl::FailedPreconditionError(
        fmt::format("table '{}': the server has no table store to open it from", table));
  }
  auto lifecycle = std::make_shared<TableLifecycle>(table, std::move(options), drain_);
  auto tables = std::make_shared<TableMap>(*Tables());
  (*tables)[table] = lifecycle;
  tables_.store(std::move(tables));
  executor_->Post([lifecycle] { (void)lifecycle->Sync(); });
  return absl::OkStatus();
}

void TableRegistry::RunAndWait(std::function<void()> task) {
  std::promise<void> finished;
  std::future<void> done = finished.get_future();
  executor_->Post([&task, &finished] {
    task();
    finished.set_value();
  });
  done.wait();
}

absl::Status TableRegistry::Refresh(std::string_view table) {
  std::shared_ptr<TableLifecycle> lifecycle = Lookup(table);
  if (!lifecycle) return absl::NotFoundError(fmt::format("table '{}' is not followed", table));
  absl::Status status;
  RunAndWait([&] { status = lifecycle->Sync(); });
  return status;
}

void TableRegistry::RefreshAll() {
  RunAndWait([this] {
    for (const auto& [name, table] : *Tables()) (void)table->Sync();
  });
}

std::optional<std::chrono::steady_clock::time_point> TableRegistry::Tick() {
  const auto now = time_.Now();
  if (options_.poll_interval.count() > 0 && now >= next_poll_) {
    for (const auto& [name, table] : *Tables()) {
      if (absl::Status s = table->Sync(); !s.ok() && table->snapshot()->default_version == 0) {
        spdlog::debug("{}", std::string(s.message()));
      }
    }
    next_poll_ = time_.Now() + options_.poll_interval;
  }
  drain_.Reap();
  if (options_.poll_interval.count() > 0) return next_poll_;
  if (drain_.size() > 0) return now + kReapInterval;
  return std::nullopt;
}

std::shared_ptr<const TableSnapshot> TableRegistry::Snapshot(std::string_view table) const {
  std::shared_ptr<TableLifecycle> lifecycle = Lookup(table);
  return lifecycle ? lifecycle->snapshot() : nullptr;
}

std::shared_ptr<const store::PredictionTable> TableRegistry::Current(std::string_view table) const {
  if (std::shared_ptr<TableLifecycle> lifecycle = Lookup(table)) {
    return lifecycle->snapshot()->Default();
  }
  if (options_.follow_on_first_use && options_.default_store) {
    // Opens in the background; this call answers null, the next ones the
    // version once it is open.
    (void)const_cast<TableRegistry*>(this)->Follow(std::string(table));
  }
  return nullptr;
}

absl::StatusOr<std::shared_ptr<const store::PredictionTable>> TableRegistry::Find(
    std::string_view table, std::string_view version) const {
  std::shared_ptr<const TableSnapshot> snapshot = Snapshot(table);
  if (!snapshot) return absl::NotFoundError(fmt::format("table '{}' is not followed", table));
  return snapshot->Find(version);
}

std::vector<TableVersionStatus> TableRegistry::Index() const {
  std::vector<TableVersionStatus> index;
  for (const auto& [name, table] : *Tables()) {
    for (const TableVersionStatus& s : table->snapshot()->statuses) index.push_back(s);
  }
  return index;
}

void TableRegistry::RunControl(std::string table, ControlCallback done, Operation op) {
  executor_->Post([this, table = std::move(table), done = std::move(done), op = std::move(op)] {
    std::shared_ptr<TableLifecycle> lifecycle = Lookup(table);
    if (!lifecycle) {
      return done(absl::NotFoundError(fmt::format("table '{}' is not followed", table)));
    }
    done(op(*lifecycle));
  });
}

void TableRegistry::Load(std::string table, ControlCallback done) {
  if (absl::Status s = Follow(table); !s.ok() && !Lookup(table)) return done(s);
  RunControl(std::move(table), std::move(done), [](TableLifecycle& t) { return t.Load(); });
}

void TableRegistry::Unload(std::string table, ControlCallback done) {
  RunControl(std::move(table), std::move(done), [this](TableLifecycle& t) {
    absl::StatusOr<std::string> result = t.Unload();
    drain_.WaitFor(options_.drain_timeout);
    return result;
  });
}

void TableRegistry::SetLabel(std::string table, std::string label, int64_t version,
                             ControlCallback done) {
  RunControl(std::move(table), std::move(done),
             [label = std::move(label), version](TableLifecycle& t) {
               return t.SetLabel(label, version);
             });
}

void TableRegistry::SetDefault(std::string table, int64_t version, ControlCallback done) {
  RunControl(std::move(table), std::move(done),
             [version](TableLifecycle& t) { return t.SetDefault(version); });
}

void TableRegistry::Rollback(std::string table, ControlCallback done) {
  RunControl(std::move(table), std::move(done), [](TableLifecycle& t) { return t.Rollback(); });
}

}  // namespace strata::serving
