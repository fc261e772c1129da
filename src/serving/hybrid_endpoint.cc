#include "serving/hybrid_endpoint.h"

#include <algorithm>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "serving/model_repository.h"
#include "serving/plans/plan_builder.h"
#include "serving/plans/plan_response.h"
#include "serving/plans/row_layout.h"
#include "serving/plans/row_tensors.h"
#include "spdlog/spdlog.h"

namespace strata::serving {

HybridEndpoint::HybridEndpoint(std::shared_ptr<TableRegistry> tables, HybridEndpointConfig config)
    : config_(std::move(config)) {
  if (!config_.table.empty()) tables_ = std::move(tables);
  if (config_.cache_max_bytes > 0) {
    PredictionCacheOptions options;
    options.max_bytes = config_.cache_max_bytes;
    options.ttl = config_.cache_ttl;
    cache_ = std::make_unique<PredictionCache>(std::move(options));
  }
}

HybridEndpoint::HybridEndpoint(HybridEndpointConfig config,
                               std::shared_ptr<store::TableStore> store)
    : HybridEndpoint(std::make_shared<TableRegistry>(
                         TableRegistryOptions{.poll_interval = std::chrono::milliseconds(0)}),
                     config) {
  if (!tables_) return;
  absl::Status s = tables_->Follow(config_.table, config_.FollowOptions(std::move(store)));
  if (s.ok()) s = Refresh();
  if (!s.ok()) {
    spdlog::warn("endpoint '{}': table not ready yet: {}", config_.name, std::string(s.message()));
  }
}

absl::Status HybridEndpoint::Refresh() {
  return tables_ ? tables_->Refresh(config_.table) : absl::OkStatus();
}

std::shared_ptr<const store::PredictionTable> HybridEndpoint::Table() const {
  return tables_ ? tables_->Current(config_.table) : nullptr;
}

void HybridEndpoint::Connect(const PlanServices& services) {
  models_ = services.models;
  observer_ = services.rows;
  recorder_ = std::make_unique<LayerRecorder>(services.metrics, config_.name);
  if (models_ == nullptr) return;
  stages_ = config_.plan == PlanKind::kDynamic ? DynamicPlan(*recorder_, *models_, cache_.get())
                                               : HybridPlan(*recorder_, *models_, cache_.get());
}

PredictionCacheStats HybridEndpoint::cache_stats() const {
  return cache_ ? cache_->Stats() : PredictionCacheStats{};
}

void HybridEndpoint::DescribeTable(EndpointDescription& d) const {
  if (!tables_) return;
  std::shared_ptr<const TableSnapshot> snapshot = tables_->Snapshot(config_.table);
  const std::shared_ptr<const store::PredictionTable> table =
      snapshot ? snapshot->Default() : nullptr;
  d.table = EndpointTable{};
  d.table->name = config_.table;
  if (!table) {
    for (const std::string& k : config_.key) d.inputs.push_back({k, core::DataType::kInt64, {-1}});
    d.table_reason = snapshot ? snapshot->reason : "the table is not followed";
    return;
  }
  const store::TableManifest& m = table->manifest();
  d.table->version = m.version;
  d.table->model = m.model_name;
  d.table->model_version = m.model_version;
  d.table->rows = m.rows;
  d.table->in_memory_bytes = InMemoryBytes(*table);
  d.table->bytes_per_entry = BytesPerEntry(*table);
  for (const store::KeyColumn& c : m.key.columns()) d.inputs.push_back({c.name, c.dtype, {-1}});
}

void HybridEndpoint::DescribeModel(EndpointDescription& d) const {
  if (models_ == nullptr) {
    d.reason = "not attached to a server";
    return;
  }
  absl::StatusOr<std::shared_ptr<const ServedModel>> served = models_->Find(config_.model, "");
  if (!served.ok()) {
    d.reason = std::string(served.status().message());
    return;
  }
  d.model_version = (*served)->version;
  for (const runtime::TensorSpec& in : (*served)->config.inputs) d.inputs.push_back(in);
  for (const runtime::TensorSpec& out : (*served)->config.outputs) d.outputs.push_back(out);
  d.outputs.push_back({"layer", core::DataType::kBytes, {-1}});
  d.ready = (*served)->ready();
  if (d.ready) {
    d.versions = {(*served)->version};
  } else {
    d.reason = (*served)->reason;
  }
}

EndpointDescription HybridEndpoint::Describe() const {
  EndpointDescription d;
  d.name = config_.name;
  d.plan = config_.plan;
  d.model = config_.model;
  d.cache = EndpointCache{.max_bytes = config_.cache_max_bytes,
                          .keyed_by_row_inputs = config_.key.empty(),
                          .stats = cache_stats()};
  if (!tables_) {
    for (const std::string& k : config_.key) d.inputs.push_back({k, core::DataType::kInt64, {-1}});
  }
  DescribeTable(d);
  DescribeModel(d);
  return d;
}

absl::StatusOr<std::shared_ptr<const RowLayout>> HybridEndpoint::LayoutFor(
    const ServedModel& served, const std::shared_ptr<const ServedModel>& handle,
    const std::shared_ptr<const store::PredictionTable>& table) const {
  auto same = [](const auto& weak, const auto& shared) {
    return !weak.owner_before(shared) && !shared.owner_before(weak);
  };
  std::shared_ptr<const CachedLayout> cached = layout_.load(std::memory_order_acquire);
  if (cached && same(cached->served, handle) && same(cached->table, table)) {
    return cached->layout;
  }
  auto next = std::make_shared<CachedLayout>(
      CachedLayout{handle, table,
                   ModelLayout(served.config, config_.model, served.version,
                               table ? &table->manifest() : nullptr)});
  layout_.store(next, std::memory_order_release);
  return next->layout;
}

void HybridEndpoint::InferAsync(core::InferRequest request, InferCallback done) const {
  if (models_ == nullptr) {
    return done(absl::UnavailableError(
        fmt::format("endpoint '{}' is not attached to a server", config_.name)));
  }
  absl::StatusOr<std::shared_ptr<const ServedModel>> found =
      models_->Find(config_.model, request.model_version);
  if (!found.ok()) return done(found.status());
  if (!(*found)->ready()) {
    return done(
        absl::UnavailableError(fmt::format("endpoint '{}': model '{}' is not ready: {}",
                                           config_.name, (*found)->name, (*found)->reason)));
  }
  absl::StatusOr<std::shared_ptr<RowBatch>> prepared =
      Prepare(std::move(request), *std::move(found));
  if (!prepared.ok()) return done(prepared.status());
  std::shared_ptr<RowBatch> batch = *std::move(prepared);
  if (observer_ != nullptr) observer_->Observe(*batch);
  stages_.Run(batch, [this, batch, done = std::move(done)](absl::Status status) {
    if (!status.ok()) return done(std::move(status));
    done(LayeredResponse(*batch, config_.model, batch->model->version));
  });
}

absl::StatusOr<std::shared_ptr<RowBatch>> HybridEndpoint::Prepare(
    core::InferRequest request, std::shared_ptr<const ServedModel> served) const {
  auto batch = std::make_shared<RowBatch>();
  std::shared_ptr<const store::PredictionTable> table = Table();
  absl::StatusOr<std::shared_ptr<const RowLayout>> layout = LayoutFor(*served, served, table);
  if (!layout.ok()) return layout.status();
  if (!(*layout)->table_offsets.empty()) batch->table = std::move(table);
  batch->endpoint = config_.name;
  batch->model = std::move(served);
  batch->id = std::move(request.id);
  batch->requested = std::move(request.outputs);
  batch->parameters = std::move(request.parameters);
  if (absl::Status s = TakeInputs(std::move(request.inputs), *batch); !s.ok()) return s;
  batch->Reset(*std::move(layout));
  batch->start = RowBatch::Clock::now();
  return batch;
}

absl::Status HybridEndpoint::TakeInputs(std::vector<core::Tensor> inputs, RowBatch& batch) const {
  // Key columns address the table and the cache; the other inputs are the
  // model's.
  std::vector<core::Tensor> key_tensors(config_.key.size());
  std::vector<const core::Tensor*> key_columns(config_.key.size(), nullptr);
  for (core::Tensor& input : inputs) {
    auto it = std::find(config_.key.begin(), config_.key.end(), input.name);
    if (it == config_.key.end()) {
      batch.model_inputs.push_back(std::move(input));
      continue;
    }
    const size_t c = static_cast<size_t>(it - config_.key.begin());
    key_columns[c] = &key_tensors[c];
    if (batch.model->features) {  // key-only: the feature stage reads the keys too
      key_tensors[c] = input;
      batch.model_inputs.push_back(std::move(input));
      continue;
    }
    key_tensors[c] = std::move(input);
  }
  for (size_t c = 0; c < key_columns.size(); ++c) {
    if (key_columns[c] == nullptr) {
      return absl::InvalidArgumentError(fmt::format(
          "endpoint '{}' needs the key columns [{}] and the model's inputs; key column '{}' "
          "is missing",
          config_.name, fmt::join(config_.key, ", "), config_.key[c]));
    }
  }
  absl::StatusOr<std::vector<std::string>> keys = RowKeys(key_columns, batch);
  if (!keys.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("endpoint '{}': {}", config_.name, std::string(keys.status().message())));
  }
  batch.keys = *std::move(keys);
  for (const core::Tensor& input : batch.model_inputs) {
    if (input.shape.empty() || input.shape[0] != static_cast<int64_t>(batch.rows())) {
      return absl::InvalidArgumentError(
          fmt::format("endpoint '{}': input '{}' must have one row per key ({} rows)", config_.name,
                      input.name, batch.rows()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> HybridEndpoint::RowKeys(
    const std::vector<const core::Tensor*>& key_columns, RowBatch& batch) const {
  // Without key columns (plan dynamic), a row's key is its own input bytes,
  // once the inputs are checked against the model's signature and put in
  // its order: the request's one validation.
  if (config_.key.empty() && batch.model->features) {
    return RowInputKeys(batch.model_inputs);  // the feature stage keys rows by their vectors
  }
  if (config_.key.empty()) {
    core::InferRequest check;
    check.inputs = std::move(batch.model_inputs);
    absl::Status s = models_->Validate(*batch.model, check);
    batch.model_inputs = std::move(check.inputs);
    if (!s.ok()) return s;
    batch.inputs_validated = true;
    return RowInputKeys(batch.model_inputs);
  }
  if (batch.table) {
    batch.key_schema = batch.table->manifest().key;
  } else {
    std::vector<store::KeyColumn> columns;
    for (size_t c = 0; c < key_columns.size(); ++c) {
      columns.push_back({config_.key[c], key_columns[c]->dtype == core::DataType::kBytes
                                             ? core::DataType::kBytes
                                             : core::DataType::kInt64});
    }
    batch.key_schema = store::KeySchema(std::move(columns));
  }
  return batch.key_schema.EncodeTensors(key_columns);
}

}  // namespace strata::serving
