#include "serving/static_endpoint.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>

#include "absl/container/flat_hash_map.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "serving/plans/plan_builder.h"
#include "serving/plans/plan_response.h"
#include "serving/plans/row_layout.h"
#include "spdlog/spdlog.h"

namespace strata::serving {
namespace {

using Clock = std::chrono::steady_clock;

// What one pinned row costs beyond its key and value bytes: the hash table's
// slot (two std::string) and control byte, at its 7/8 maximum load.
constexpr size_t kPinnedRowOverhead = (2 * sizeof(std::string) + 1) * 8 / 7 + 1;

// A table version held in memory: every record read once (Scan, which also
// checks the data) into a hash table. Lookups never touch the store.
class PinnedTable : public store::PredictionTable {
 public:
  // Null when the table does not fit in `max_bytes`.
  static absl::StatusOr<std::shared_ptr<PinnedTable>> Load(
      std::shared_ptr<store::PredictionTable> table, size_t max_bytes) {
    const store::TableManifest& m = table->manifest();
    const size_t min_row = m.ValueSize() + m.key.size() + kPinnedRowOverhead;
    if (m.rows < 0 || static_cast<size_t>(m.rows) > max_bytes / std::max<size_t>(min_row, 1)) {
      return nullptr;
    }
    std::shared_ptr<PinnedTable> pinned(new PinnedTable(table));
    pinned->rows_.reserve(static_cast<size_t>(m.rows));
    size_t bytes = 0;
    bool fits = true;
    absl::Status s = table->Scan([&](std::string_view key, std::string_view value) {
      bytes += key.size() + value.size() + kPinnedRowOverhead;
      if (bytes > max_bytes) {
        fits = false;
        return absl::OutOfRangeError("too large to pin");
      }
      pinned->rows_.emplace(absl::string_view(key.data(), key.size()), std::string(value));
      return absl::OkStatus();
    });
    if (!fits) return nullptr;
    if (!s.ok()) return s;
    pinned->bytes_ = bytes;
    return pinned;
  }

  const store::TableManifest& manifest() const override { return table_->manifest(); }

  absl::StatusOr<store::LookupResult> MultiGet(std::span<const std::string> keys) const override {
    store::LookupResult result;
    result.values.resize(keys.size());
    result.found.assign(keys.size(), 0);
    for (size_t i = 0; i < keys.size(); ++i) {
      auto it = rows_.find(absl::string_view(keys[i].data(), keys[i].size()));
      if (it == rows_.end()) continue;
      result.values[i] = it->second;
      result.found[i] = 1;
    }
    return result;
  }

  absl::Status Scan(const Visitor& visit) const override { return table_->Scan(visit); }

  size_t bytes() const { return bytes_; }

 private:
  explicit PinnedTable(std::shared_ptr<store::PredictionTable> table) : table_(std::move(table)) {}

  std::shared_ptr<store::PredictionTable> table_;  // the store's reader
  absl::flat_hash_map<std::string, std::string> rows_;
  size_t bytes_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<StaticEndpoint>> StaticEndpoint::Create(
    StaticEndpointConfig config, std::shared_ptr<store::TableStore> store) {
  std::unique_ptr<StaticEndpoint> endpoint(new StaticEndpoint(std::move(config), std::move(store)));
  if (absl::Status s = endpoint->Refresh(); !s.ok()) return s;
  return endpoint;
}

std::unique_ptr<StaticEndpoint> StaticEndpoint::Start(StaticEndpointConfig config,
                                                      std::shared_ptr<store::TableStore> store) {
  std::unique_ptr<StaticEndpoint> endpoint(new StaticEndpoint(std::move(config), std::move(store)));
  if (absl::Status s = endpoint->Refresh(); !s.ok()) {
    spdlog::warn("endpoint '{}' is not ready yet: {}", endpoint->name(), std::string(s.message()));
  }
  return endpoint;
}

StaticEndpoint::StaticEndpoint(StaticEndpointConfig config,
                               std::shared_ptr<store::TableStore> store)
    : config_(std::move(config)),
      store_(std::move(store)),
      recorder_(std::make_unique<LayerRecorder>()),
      stages_(StaticPlan(*recorder_, config_.default_value, !config_.default_when_unavailable)) {}

void StaticEndpoint::Connect(const PlanServices& services) {
  recorder_ = std::make_unique<LayerRecorder>(services.metrics, config_.name);
  stages_ = StaticPlan(*recorder_, config_.default_value, !config_.default_when_unavailable);
  observer_ = services.rows;
}

absl::StatusOr<std::shared_ptr<store::PredictionTable>> StaticEndpoint::OpenVersion(
    int64_t version) const {
  absl::StatusOr<std::shared_ptr<store::PredictionTable>> table =
      store_->Open(config_.table, version);
  if (!table.ok()) return table;
  if (!config_.key.empty()) {
    const std::vector<store::KeyColumn>& columns = (*table)->manifest().key.columns();
    bool same = columns.size() == config_.key.size();
    for (size_t c = 0; same && c < columns.size(); ++c) {
      same = columns[c].name == config_.key[c];
    }
    if (!same) {
      return absl::FailedPreconditionError(
          fmt::format("its key is {} but the endpoint's key is [{}]",
                      (*table)->manifest().key.ToString(), fmt::join(config_.key, ", ")));
    }
  }
  if (store_->kind() != "rocksdb" || config_.pin_max_bytes == 0) return table;
  absl::StatusOr<std::shared_ptr<PinnedTable>> pinned =
      PinnedTable::Load(*table, config_.pin_max_bytes);
  if (!pinned.ok()) return pinned.status();  // the data does not read back
  if (*pinned == nullptr) return table;      // too large: looked up in RocksDB
  spdlog::info("endpoint '{}': table '{}' version {} held in memory ({} rows, {:.1f} MiB)",
               config_.name, config_.table, version, (*table)->manifest().rows,
               static_cast<double>((*pinned)->bytes()) / (1 << 20));
  return std::shared_ptr<store::PredictionTable>(*std::move(pinned));
}

std::vector<std::string> StaticEndpoint::key_columns() const {
  if (!config_.key.empty()) return config_.key;
  std::vector<std::string> names;
  if (const std::shared_ptr<const store::PredictionTable> t = table()) {
    for (const store::KeyColumn& c : t->manifest().key.columns()) names.push_back(c.name);
  }
  return names;
}

std::string StaticEndpoint::last_error() const {
  std::lock_guard lock(error_mutex_);
  return last_error_;
}

void StaticEndpoint::SetLastError(std::string error) {
  std::lock_guard lock(error_mutex_);
  last_error_ = std::move(error);
}

absl::Status StaticEndpoint::Refresh() {
  std::lock_guard lock(refresh_mutex_);
  const std::shared_ptr<const store::PredictionTable> serving_table = table();
  const int64_t serving = serving_table ? serving_table->manifest().version : 0;
  auto not_ready = [&](absl::Status status) {
    if (serving == 0) SetLastError(std::string(status.message()));
    return status;
  };
  absl::StatusOr<int64_t> current = store_->CurrentVersion(config_.table);
  if (!current.ok()) return not_ready(current.status());  // unreachable: keep serving
  if (*current == 0) {
    return not_ready(
        absl::NotFoundError(fmt::format("endpoint '{}': table '{}' has no version in {}",
                                        config_.name, config_.table, store_->location())));
  }
  if (*current == serving || *current == refused_version_) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<store::PredictionTable>> next = OpenVersion(*current);
  if (!next.ok()) {
    const std::string why = fmt::format("table '{}' version {} refused: {}", config_.table,
                                        *current, std::string(next.status().message()));
    if (next.status().code() == absl::StatusCode::kUnavailable) {
      return not_ready(absl::UnavailableError(why));  // try again next time
    }
    refused_version_ = *current;
    SetLastError(why);
    if (serving != 0) {
      spdlog::error("endpoint '{}': {}; version {} keeps serving", config_.name, why, serving);
    }
    return absl::Status(next.status().code(), why);
  }
  table_.store(*std::move(next), std::memory_order_release);
  SetLastError("");
  spdlog::info("endpoint '{}': table '{}' version {} is serving (was {})", config_.name,
               config_.table, *current, serving);
  return absl::OkStatus();
}

EndpointDescription StaticEndpoint::Describe() const {
  const std::shared_ptr<const store::PredictionTable> table = this->table();
  EndpointDescription d;
  d.name = config_.name;
  d.plan = PlanKind::kStatic;
  d.table = EndpointTable{};
  d.table->name = config_.table;
  d.table->store = std::string(store_->kind());
  if (!table) {
    d.reason = last_error();
    return d;
  }
  const store::TableManifest& m = table->manifest();
  d.ready = true;
  d.versions = {m.version};
  for (const store::KeyColumn& c : m.key.columns()) d.inputs.push_back({c.name, c.dtype, {-1}});
  for (const store::OutputColumn& c : m.outputs) {
    core::Shape shape = {-1};
    shape.insert(shape.end(), c.shape.begin(), c.shape.end());
    d.outputs.push_back({c.name, c.dtype, shape});
  }
  d.outputs.push_back({"found", core::DataType::kBool, {-1}});
  d.model = m.model_name;
  d.model_version = m.model_version;
  EndpointTable& t = *d.table;
  t.version = m.version;
  t.model = m.model_name;
  t.model_version = m.model_version;
  t.rows = m.rows;
  // What one entry costs: measured when the version is held in memory,
  // else its key and value bytes plus a store's usual per-entry overhead.
  if (const auto* pinned = dynamic_cast<const PinnedTable*>(table.get())) {
    t.in_memory_bytes = pinned->bytes();
    if (m.rows > 0) {
      t.bytes_per_entry = static_cast<double>(pinned->bytes()) / static_cast<double>(m.rows);
    }
  }
  if (t.bytes_per_entry <= 0) {
    size_t key_bytes = 0;
    for (const store::KeyColumn& c : m.key.columns()) {
      key_bytes += c.dtype == core::DataType::kBytes ? 16 : 8;
    }
    t.bytes_per_entry = static_cast<double>(m.ValueSize() + key_bytes + kPinnedRowOverhead);
  }
  t.refused = last_error();
  return d;
}

absl::Status StaticEndpoint::CheckVersion(const std::string& version) const {
  if (version.empty()) return absl::OkStatus();
  const std::shared_ptr<const store::PredictionTable> table = this->table();
  const std::string serving = table ? std::to_string(table->manifest().version) : "";
  if (version == serving) return absl::OkStatus();
  return absl::NotFoundError(fmt::format(
      "Request for unknown model: '{}' version {} is not found; endpoint '{}' serves "
      "table '{}' version {}",
      config_.name, version, config_.name, config_.table, serving.empty() ? "none" : serving));
}

void StaticEndpoint::InferAsync(core::InferRequest request, InferCallback done) const {
  if (absl::Status s = CheckVersion(request.model_version); !s.ok()) return done(std::move(s));
  Run(request, std::move(done));
}

absl::StatusOr<core::InferResponse> StaticEndpoint::Infer(const core::InferRequest& request) const {
  std::promise<absl::StatusOr<core::InferResponse>> promise;
  Run(request,
      [&promise](absl::StatusOr<core::InferResponse> r) { promise.set_value(std::move(r)); });
  return promise.get_future().get();
}

void StaticEndpoint::Run(const core::InferRequest& request, InferCallback done) const {
  absl::StatusOr<std::shared_ptr<RowBatch>> prepared = Prepare(request);
  if (!prepared.ok()) return done(prepared.status());
  std::shared_ptr<RowBatch> batch = *std::move(prepared);
  if (observer_ != nullptr) observer_->Observe(*batch);
  stages_.Run(batch, [batch, done = std::move(done)](absl::Status status) {
    if (!status.ok()) return done(std::move(status));
    done(StaticResponse(*batch));
  });
}

std::shared_ptr<const RowLayout> StaticEndpoint::LayoutFor(
    const std::shared_ptr<const store::PredictionTable>& table) const {
  std::shared_ptr<const CachedLayout> cached = layout_.load(std::memory_order_acquire);
  if (cached && !cached->table.owner_before(table) && !table.owner_before(cached->table)) {
    return cached->layout;
  }
  auto next = std::make_shared<CachedLayout>(CachedLayout{table, TableLayout(table->manifest())});
  layout_.store(next, std::memory_order_release);
  return next->layout;
}

absl::StatusOr<std::vector<const core::Tensor*>> StaticEndpoint::KeyColumns(
    const core::InferRequest& request, const store::KeySchema& key) const {
  std::vector<const core::Tensor*> columns(key.size(), nullptr);
  for (const core::Tensor& input : request.inputs) {
    bool known = false;
    for (size_t c = 0; c < key.size(); ++c) {
      if (key.columns()[c].name == input.name) {
        columns[c] = &input;
        known = true;
      }
    }
    if (!known) {
      return absl::InvalidArgumentError(
          fmt::format("endpoint '{}' takes the key columns {}; '{}' is not one of them",
                      config_.name, key.ToString(), input.name));
    }
  }
  for (size_t c = 0; c < key.size(); ++c) {
    if (columns[c] == nullptr) {
      return absl::InvalidArgumentError(
          fmt::format("endpoint '{}' needs key column '{}' ({}) as an input", config_.name,
                      key.columns()[c].name, key.ToString()));
    }
  }
  return columns;
}

absl::StatusOr<std::shared_ptr<RowBatch>> StaticEndpoint::Prepare(
    const core::InferRequest& request) const {
  auto batch = std::make_shared<RowBatch>();
  batch->table = this->table();
  if (!batch->table) {
    return absl::UnavailableError(
        fmt::format("endpoint '{}' is not ready: {}", config_.name, last_error()));
  }
  const store::KeySchema& key = batch->table->manifest().key;
  absl::StatusOr<std::vector<const core::Tensor*>> columns = KeyColumns(request, key);
  if (!columns.ok()) return columns.status();
  absl::StatusOr<std::vector<std::string>> keys = key.EncodeTensors(*columns);
  if (!keys.ok()) return keys.status();
  batch->endpoint = config_.name;
  batch->keys = *std::move(keys);
  batch->key_schema = key;
  batch->id = request.id;
  batch->requested = request.outputs;
  batch->Reset(LayoutFor(batch->table));
  batch->start = RowBatch::Clock::now();
  return batch;
}

}  // namespace strata::serving
