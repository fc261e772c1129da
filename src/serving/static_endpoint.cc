#include "serving/static_endpoint.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "serving/lifecycle/table_opener.h"
#include "serving/plans/plan_builder.h"
#include "serving/plans/plan_response.h"
#include "serving/plans/row_layout.h"
#include "serving/static_answer_cache.h"
#include "spdlog/spdlog.h"

namespace strata::serving {
namespace {

// An endpoint's own registry: polled only when the endpoint is refreshed.
std::shared_ptr<TableRegistry> OwnRegistry() {
  return std::make_shared<TableRegistry>(
      TableRegistryOptions{.poll_interval = std::chrono::milliseconds(0)});
}

}  // namespace

StaticEndpoint::StaticEndpoint(StaticEndpointConfig config, std::shared_ptr<TableRegistry> tables)
    : config_(std::move(config)),
      tables_(std::move(tables)),
      recorder_(std::make_unique<LayerRecorder>()),
      stages_(StaticPlan(*recorder_, config_.default_value, !config_.default_when_unavailable)) {}

TableFollowOptions StaticEndpoint::FollowOptions(const StaticEndpointConfig& config,
                                                 std::shared_ptr<store::TableStore> store) {
  return {.store = std::move(store), .key = config.key, .in_memory_bytes = config.pin_max_bytes};
}

absl::StatusOr<std::unique_ptr<StaticEndpoint>> StaticEndpoint::Create(
    StaticEndpointConfig config, std::shared_ptr<store::TableStore> store) {
  std::shared_ptr<TableRegistry> tables = OwnRegistry();
  if (absl::Status s = tables->Follow(config.table, FollowOptions(config, std::move(store)));
      !s.ok()) {
    return s;
  }
  auto endpoint = std::make_unique<StaticEndpoint>(std::move(config), std::move(tables));
  absl::Status s = endpoint->Refresh();
  if (endpoint->table() != nullptr) return endpoint;
  // A refused version is refused once: its reason is the endpoint's error.
  return s.ok() ? absl::FailedPreconditionError(endpoint->last_error()) : s;
}

std::unique_ptr<StaticEndpoint> StaticEndpoint::Start(StaticEndpointConfig config,
                                                      std::shared_ptr<store::TableStore> store) {
  std::shared_ptr<TableRegistry> tables = OwnRegistry();
  absl::Status s = tables->Follow(config.table, FollowOptions(config, std::move(store)));
  auto endpoint = std::make_unique<StaticEndpoint>(std::move(config), std::move(tables));
  if (s.ok()) s = endpoint->Refresh();
  if (!s.ok()) {
    spdlog::warn("endpoint '{}' is not ready yet: {}", endpoint->name(), std::string(s.message()));
  }
  return endpoint;
}

absl::Status StaticEndpoint::Refresh() { return tables_->Refresh(config_.table); }

void StaticEndpoint::Connect(const PlanServices& services) {
  recorder_ = std::make_unique<LayerRecorder>(services.metrics, config_.name);
  stages_ = StaticPlan(*recorder_, config_.default_value, !config_.default_when_unavailable);
  observer_ = services.rows;
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
  std::shared_ptr<const TableSnapshot> snapshot = tables_->Snapshot(config_.table);
  if (!snapshot) return fmt::format("table '{}' is not followed", config_.table);
  return snapshot->default_version == 0 ? snapshot->reason : snapshot->refused;
}

EndpointDescription StaticEndpoint::Describe() const {
  std::shared_ptr<const TableSnapshot> snapshot = tables_->Snapshot(config_.table);
  const std::shared_ptr<const store::PredictionTable> table =
      snapshot ? snapshot->Default() : nullptr;
  EndpointDescription d;
  d.name = config_.name;
  d.plan = PlanKind::kStatic;
  d.table = EndpointTable{};
  d.table->name = config_.table;
  d.table->store = snapshot ? snapshot->store_kind : "";
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
  t.in_memory_bytes = InMemoryBytes(*table);
  t.bytes_per_entry = BytesPerEntry(*table);
  t.refused = snapshot->refused;
  return d;
}

absl::StatusOr<std::shared_ptr<const store::PredictionTable>> StaticEndpoint::Resolve(
    const std::string& version) const {
  absl::StatusOr<std::shared_ptr<const store::PredictionTable>> found =
      tables_->Find(config_.table, version);
  if (found.ok() || version.empty()) {
    if (found.ok()) return found;
    return absl::UnavailableError(
        fmt::format("endpoint '{}' is not ready: {}", config_.name, last_error()));
  }
  const std::shared_ptr<const store::PredictionTable> table = this->table();
  const std::string serving = table ? std::to_string(table->manifest().version) : "none";
  return absl::NotFoundError(
      fmt::format("Request for unknown model: '{}' version {} is not found; endpoint '{}' serves "
                  "table '{}' version {}",
                  config_.name, version, config_.name, config_.table, serving));
}

void StaticEndpoint::InferAsync(core::InferRequest request, InferCallback done) const {
  absl::StatusOr<std::shared_ptr<const store::PredictionTable>> table =
      Resolve(request.model_version);
  if (!table.ok()) return done(table.status());
  Run(request, *std::move(table), std::move(done));
}

absl::StatusOr<core::InferResponse> StaticEndpoint::Infer(const core::InferRequest& request) const {
  absl::StatusOr<std::shared_ptr<const store::PredictionTable>> table = Resolve("");
  if (!table.ok()) return table.status();
  std::promise<absl::StatusOr<core::InferResponse>> promise;
  Run(request, *std::move(table),
      [&promise](absl::StatusOr<core::InferResponse> r) { promise.set_value(std::move(r)); });
  return promise.get_future().get();
}

void StaticEndpoint::Run(const core::InferRequest& request,
                         std::shared_ptr<const store::PredictionTable> table,
                         InferCallback done) const {
  const std::shared_ptr<const CachedLayout> version = LayoutFor(table);
  absl::StatusOr<std::shared_ptr<RowBatch>> prepared =
      Prepare(request, std::move(table), version->layout);
  if (!prepared.ok()) return done(prepared.status());
  std::shared_ptr<RowBatch> batch = *std::move(prepared);
  if (observer_ != nullptr) observer_->Observe(*batch);
  const uint64_t token = AnswerToken(*batch, *version);
  if (std::optional<core::InferResponse> kept = KeptAnswer(*batch, token)) {
    return done(*std::move(kept));
  }
  stages_.Run(batch, [batch, token, done = std::move(done)](absl::Status status) {
    if (!status.ok()) return done(std::move(status));
    absl::StatusOr<core::InferResponse> response = StaticResponse(*batch);
    // Only a found row is kept: it is recorded as a table row when answered again.
    if (token != 0 && response.ok() && batch->layers[0] == Layer::kTable && !batch->degraded) {
      StaticAnswerCache::ThisThread().Put(token, batch->keys[0], *response);
    }
    done(std::move(response));
  });
}

uint64_t StaticEndpoint::AnswerToken(const RowBatch& batch, const CachedLayout& version) {
  return batch.rows() == 1 && batch.requested.empty() ? version.answer_token : 0;
}

std::optional<core::InferResponse> StaticEndpoint::KeptAnswer(const RowBatch& batch,
                                                              uint64_t token) const {
  if (token == 0) return std::nullopt;
  const core::InferResponse* kept = StaticAnswerCache::ThisThread().Find(token, batch.keys[0]);
  if (kept == nullptr) return std::nullopt;
  recorder_->Record(Layer::kTable, 1, RowBatch::Clock::now() - batch.start);
  core::InferResponse answer = *kept;
  answer.id = batch.id;
  return answer;
}

std::shared_ptr<const StaticEndpoint::CachedLayout> StaticEndpoint::LayoutFor(
    const std::shared_ptr<const store::PredictionTable>& table) const {
  std::shared_ptr<const CachedLayout> cached = layout_.load(std::memory_order_acquire);
  if (cached && !cached->table.owner_before(table) && !table.owner_before(cached->table)) {
    return cached;
  }
  // A version seen again after another gets a new token: its kept answers
  // are not found, never wrong.
  const uint64_t token = InMemoryBytes(*table) ? StaticAnswerCache::NewToken() : 0;
  auto next =
      std::make_shared<CachedLayout>(CachedLayout{table, TableLayout(table->manifest()), token});
  layout_.store(next, std::memory_order_release);
  return next;
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
    const core::InferRequest& request, std::shared_ptr<const store::PredictionTable> table,
    std::shared_ptr<const RowLayout> layout) const {
  auto batch = std::make_shared<RowBatch>();
  batch->table = std::move(table);
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
  batch->Reset(std::move(layout));
  batch->start = RowBatch::Clock::now();
  return batch;
}

}  // namespace strata::serving
