#include "serving/hybrid_endpoint.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "serving/request_validator.h"
#include "serving/server_core.h"

namespace strata::serving {
namespace {

using Clock = std::chrono::steady_clock;

enum Layer : uint8_t { kNone = 0, kTable = 1, kCache = 2, kModel = 3 };
constexpr const char* kLayerNames[] = {"none", "table", "cache", "model"};

// One model output's place in a row's bytes.
struct OutputSlot {
  std::string name;
  core::DataType dtype;
  core::Shape row_shape;  // without the batch dimension
  size_t bytes = 0;       // per row
  size_t offset = 0;      // in the row's concatenated outputs
};

absl::StatusOr<std::vector<OutputSlot>> SlotsOf(const runtime::ModelConfig& config,
                                                const std::string& model) {
  std::vector<OutputSlot> slots;
  size_t offset = 0;
  for (const runtime::TensorSpec& spec : config.outputs) {
    if (spec.dtype == core::DataType::kBytes || spec.shape.empty()) {
      return absl::FailedPreconditionError(fmt::format(
          "model '{}' output '{}' has no fixed size per row; a hybrid plan needs one",
          model, spec.name));
    }
    OutputSlot slot{spec.name, spec.dtype, {}, core::ElementSize(spec.dtype), offset};
    for (size_t d = 1; d < spec.shape.size(); ++d) {
      if (spec.shape[d] < 0) {
        return absl::FailedPreconditionError(fmt::format(
            "model '{}' output '{}' has a variable dimension; a hybrid plan needs a fixed "
            "size per row",
            model, spec.name));
      }
      slot.row_shape.push_back(spec.shape[d]);
      slot.bytes *= static_cast<size_t>(spec.shape[d]);
    }
    offset += slot.bytes;
    slots.push_back(std::move(slot));
  }
  return slots;
}

// Where each model output sits in a table row, or an empty vector (with
// `why`) when the table's outputs do not match the model's.
std::vector<size_t> TableOffsets(const store::TableManifest& manifest,
                                 const std::vector<OutputSlot>& slots, std::string& why) {
  std::vector<size_t> offsets;
  for (const OutputSlot& slot : slots) {
    size_t offset = 0;
    bool found = false;
    for (const store::OutputColumn& column : manifest.outputs) {
      if (column.name == slot.name) {
        if (column.dtype != slot.dtype || column.BytesPerRow() != slot.bytes) {
          why = fmt::format("table output '{}' differs from the model's", slot.name);
          return {};
        }
        offsets.push_back(offset);
        found = true;
        break;
      }
      offset += column.BytesPerRow();
    }
    if (!found) {
      why = fmt::format("table has no output '{}'", slot.name);
      return {};
    }
  }
  return offsets;
}

// Rows `rows` of a tensor whose first dimension is the batch.
absl::StatusOr<core::Tensor> GatherRows(const core::Tensor& t, const std::vector<size_t>& rows,
                                        size_t total_rows) {
  core::Tensor out;
  out.name = t.name;
  out.dtype = t.dtype;
  out.shape = t.shape;
  out.shape[0] = static_cast<int64_t>(rows.size());
  if (t.dtype == core::DataType::kBytes) {
    std::vector<std::string_view> elements;
    if (absl::Status s = core::SplitBytesElements(t.data, elements); !s.ok()) return s;
    if (elements.size() % total_rows != 0) {
      return absl::InvalidArgumentError(fmt::format("input '{}' does not split into {} rows",
                                                    t.name, total_rows));
    }
    const size_t per_row = elements.size() / total_rows;
    for (size_t r : rows) {
      for (size_t e = 0; e < per_row; ++e) {
        core::AppendBytesElement(elements[r * per_row + e], out.data);
      }
    }
    return out;
  }
  if (t.data.size() % total_rows != 0) {
    return absl::InvalidArgumentError(
        fmt::format("input '{}' does not split into {} rows", t.name, total_rows));
  }
  const size_t row_bytes = t.data.size() / total_rows;
  out.data.resize(rows.size() * row_bytes);
  for (size_t i = 0; i < rows.size(); ++i) {
    std::memcpy(out.data.data() + i * row_bytes, t.data.data() + rows[i] * row_bytes,
                row_bytes);
  }
  return out;
}

// The bytes of each row across `inputs` (a fixed-size input's row slice; a
// BYTES input's elements, each behind its 4-byte length): the cache key of a
// row when the endpoint has no key columns.
absl::StatusOr<std::vector<std::string>> RowInputKeys(const std::vector<core::Tensor>& inputs) {
  if (inputs.empty() || inputs.front().shape.empty()) {
    return absl::InvalidArgumentError("the request has no inputs with rows");
  }
  const size_t rows = static_cast<size_t>(std::max<int64_t>(0, inputs.front().shape[0]));
  std::vector<std::string> keys(rows);
  for (const core::Tensor& t : inputs) {
    if (t.shape.empty() || t.shape[0] != static_cast<int64_t>(rows)) {
      return absl::InvalidArgumentError(fmt::format(
          "input '{}' must have {} rows like the first input", t.name, rows));
    }
    if (rows == 0) continue;
    if (t.dtype == core::DataType::kBytes) {
      std::vector<std::string_view> elements;
      if (absl::Status s = core::SplitBytesElements(t.data, elements); !s.ok()) return s;
      if (elements.size() % rows != 0) {
        return absl::InvalidArgumentError(
            fmt::format("input '{}' does not split into {} rows", t.name, rows));
      }
      const size_t per_row = elements.size() / rows;
      for (size_t r = 0; r < rows; ++r) {
        for (size_t e = 0; e < per_row; ++e) {
          const std::string_view element = elements[r * per_row + e];
          const uint32_t length = static_cast<uint32_t>(element.size());
          keys[r].append(reinterpret_cast<const char*>(&length), sizeof length);
          keys[r].append(element);
        }
      }
      continue;
    }
    const size_t row_bytes = t.data.size() / rows;
    for (size_t r = 0; r < rows; ++r) {
      keys[r].append(reinterpret_cast<const char*>(t.data.data()) + r * row_bytes, row_bytes);
    }
  }
  return keys;
}

// What requests need to know about one model version and one table version
// (HybridEndpoint::PlanFor computes it once per pair).
struct HybridPlan {
  absl::Status status;  // not OK: the model's outputs do not suit a hybrid plan
  std::vector<OutputSlot> slots;
  size_t row_bytes = 0;
  // Where each slot sits in a table row; empty when the table is not used
  // (none, produced by another model version, or other outputs).
  std::vector<size_t> table_offsets;
  size_t table_value_bytes = 0;   // a table row's size (the manifest's ValueSize)
  bool table_row_is_row = false;  // a table row is exactly the row's outputs
  std::string cache_prefix;       // PredictionCache::Key(model, version, "")
  std::string version;            // the model version, as a string
};

// Everything one request needs across the model call.
struct Pending {
  std::shared_ptr<const HybridPlan> plan;
  std::string id;
  std::vector<core::RequestedOutput> requested;
  std::vector<std::string> keys;    // canonical key bytes per row
  std::vector<uint8_t> values;      // rows x plan->row_bytes: each row's outputs
  std::vector<uint8_t> layers;      // Layer per row
  std::vector<size_t> misses;       // rows no table or cache answered
  std::vector<size_t> model_rows;   // the first row of each distinct missed key
  std::vector<size_t> computed_by;  // per miss: its index in model_rows
  // The table version to look in (when the plan uses one), and the one
  // that answered (kept alive for the response's parameters).
  std::shared_ptr<const store::PredictionTable> asked;
  std::shared_ptr<const store::PredictionTable> table;
  bool table_failed = false;  // the store could not be asked: degraded
  // What the model call needs: the model's own inputs, the version and
  // parameters the request named.
  std::vector<core::Tensor> model_inputs;
  std::string model_version;
  core::Parameters parameters;
  std::chrono::steady_clock::time_point table_start;
};

absl::StatusOr<core::InferResponse> Respond(Pending& p, const std::string& endpoint,
                                            const std::string& model,
                                            const std::string& version) {
  const HybridPlan& plan = *p.plan;
  const size_t rows = p.keys.size();
  core::InferResponse response;
  response.model_name = endpoint;
  response.model_version = version;
  response.id = std::move(p.id);
  std::vector<core::Tensor> outputs;
  outputs.reserve(plan.slots.size() + 1);
  for (const OutputSlot& slot : plan.slots) {
    core::Tensor out;
    out.name = slot.name;
    out.dtype = slot.dtype;
    out.shape.reserve(1 + slot.row_shape.size());
    out.shape.push_back(static_cast<int64_t>(rows));
    out.shape.insert(out.shape.end(), slot.row_shape.begin(), slot.row_shape.end());
    if (plan.slots.size() == 1) {
      out.data = std::move(p.values);  // the row is this one output
    } else {
      out.data.resize(rows * slot.bytes);
      for (size_t r = 0; r < rows; ++r) {
        std::memcpy(out.data.data() + r * slot.bytes,
                    p.values.data() + r * plan.row_bytes + slot.offset, slot.bytes);
      }
    }
    outputs.push_back(std::move(out));
  }
  core::Tensor layer;
  layer.name = "layer";
  layer.dtype = core::DataType::kBytes;
  layer.shape = {static_cast<int64_t>(rows)};
  layer.data.reserve(rows * 9);
  int64_t counts[4] = {0, 0, 0, 0};
  for (uint8_t l : p.layers) {
    core::AppendBytesElement(kLayerNames[l], layer.data);
    ++counts[l];
  }
  outputs.push_back(std::move(layer));
  if (p.requested.empty()) {
    response.outputs = std::move(outputs);
  } else {
    for (const core::RequestedOutput& wanted : p.requested) {
      auto it = std::find_if(outputs.begin(), outputs.end(),
                             [&](const core::Tensor& t) { return t.name == wanted.name; });
      if (it == outputs.end()) {
        return absl::InvalidArgumentError(
            fmt::format("endpoint '{}' has no output '{}'", endpoint, wanted.name));
      }
      response.outputs.push_back(*it);
    }
  }
  response.parameters["model"] = model;
  response.parameters["model_version"] = version;
  response.parameters["layer_table"] = counts[kTable];
  response.parameters["layer_cache"] = counts[kCache];
  response.parameters["layer_model"] = counts[kModel];
  std::string single = "mixed";
  for (int l = kTable; l <= kModel; ++l) {
    if (counts[l] == static_cast<int64_t>(rows)) single = kLayerNames[l];
  }
  response.parameters["layer"] = rows == 0 ? std::string("none") : single;
  if (p.table) {
    response.parameters["table"] = p.table->manifest().table;
    response.parameters["table_version"] = p.table->manifest().version;
  }
  if (p.table_failed) response.parameters["degraded"] = true;
  return response;
}

const std::string kTableLayer = "table", kCacheLayer = "cache", kModelLayer = "model";

}  // namespace

// What requests need to know about one model version and one table version.
struct HybridEndpoint::Plan : HybridPlan {
  // Which versions this plan is for (compared by owner, never dereferenced:
  // a plan never keeps a version alive).
  std::weak_ptr<const ServedModel> served;
  std::weak_ptr<const store::PredictionTable> table;
};

HybridEndpoint::HybridEndpoint(HybridEndpointConfig config,
                               std::shared_ptr<store::TableStore> store)
    : config_(std::move(config)) {
  if (!config_.table.empty()) {
    table_ = StaticEndpoint::Start(
        {.name = config_.name, .table = config_.table, .default_value = 0,
         .default_when_unavailable = true, .key = config_.key,
         .pin_max_bytes = config_.table_in_memory_bytes},
        std::move(store));
  }
  if (config_.cache_max_bytes > 0) {
    PredictionCacheOptions options;
    options.max_bytes = config_.cache_max_bytes;
    options.ttl = config_.cache_ttl;
    cache_ = std::make_unique<PredictionCache>(std::move(options));
  }
}

PredictionCacheStats HybridEndpoint::cache_stats() const {
  return cache_ ? cache_->Stats() : PredictionCacheStats{};
}

EndpointDescription HybridEndpoint::Describe() const {
  EndpointDescription d;
  d.name = config_.name;
  d.plan = config_.plan;
  d.properties["model"] = config_.model;
  d.properties["cache_max_bytes"] = std::to_string(config_.cache_max_bytes);
  const std::shared_ptr<const store::PredictionTable> table =
      table_ ? table_->table() : nullptr;
  std::vector<store::KeyColumn> key;
  if (table) {
    const store::TableManifest& m = table->manifest();
    d.properties["table"] = config_.table;
    d.properties["table_version"] = std::to_string(m.version);
    d.properties["table_model"] = fmt::format("{}:{}", m.model_name, m.model_version);
    const EndpointDescription t = table_->Describe();
    for (const char* name : {"table_rows", "bytes_per_entry", "in_memory_bytes"}) {
      if (auto it = t.properties.find(name); it != t.properties.end()) {
        d.properties[name] = it->second;
      }
    }
    key = m.key.columns();
  } else {
    for (const std::string& k : config_.key) key.push_back({k, core::DataType::kInt64});
    if (table_) {
      d.properties["table"] = config_.table;
      d.properties["table_reason"] = table_->last_error();
    }
  }
  if (config_.key.empty()) d.properties["cache_key"] = "row inputs";
  for (const store::KeyColumn& c : key) d.inputs.push_back({c.name, c.dtype, {-1}});
  if (cache_) {
    const PredictionCacheStats s = cache_->Stats();
    d.properties["cache_hits"] = std::to_string(s.hits);
    d.properties["cache_misses"] = std::to_string(s.misses);
    d.properties["cache_entries"] = std::to_string(s.entries);
    d.properties["cache_bytes"] = std::to_string(s.bytes);
  }
  if (core_ == nullptr) {
    d.reason = "not attached to a server";
    return d;
  }
  absl::StatusOr<std::shared_ptr<const ServedModel>> served = core_->FindModel(config_.model, "");
  if (!served.ok()) {
    d.reason = std::string(served.status().message());
    return d;
  }
  d.properties["model_version"] = std::to_string((*served)->version);
  for (const runtime::TensorSpec& in : (*served)->config.inputs) d.inputs.push_back(in);
  for (const runtime::TensorSpec& out : (*served)->config.outputs) d.outputs.push_back(out);
  d.outputs.push_back({"layer", core::DataType::kBytes, {-1}});
  d.ready = (*served)->ready();
  if (d.ready) {
    d.versions = {(*served)->version};
  } else {
    d.reason = (*served)->reason;
  }
  return d;
}

std::shared_ptr<const HybridEndpoint::Plan> HybridEndpoint::PlanFor(
    const std::shared_ptr<const ServedModel>& served,
    const std::shared_ptr<const store::PredictionTable>& table) const {
  auto same = [](const auto& weak, const auto& shared) {
    return !weak.owner_before(shared) && !shared.owner_before(weak);
  };
  std::shared_ptr<const Plan> plan = plan_.load(std::memory_order_acquire);
  if (plan && same(plan->served, served) && same(plan->table, table)) return plan;

  auto next = std::make_shared<Plan>();
  next->served = served;
  next->table = table;
  next->version = std::to_string(served->version);
  next->cache_prefix = PredictionCache::Key(config_.model, served->version, "");
  absl::StatusOr<std::vector<OutputSlot>> slots = SlotsOf(served->config, config_.model);
  if (!slots.ok()) {
    next->status = slots.status();
  } else {
    next->slots = *std::move(slots);
    for (const OutputSlot& slot : next->slots) next->row_bytes += slot.bytes;
  }
  // The table, when it was produced by this model version.
  if (next->status.ok() && table) {
    const store::TableManifest& m = table->manifest();
    std::string why;
    if (m.model_name == config_.model && m.model_version == served->version) {
      next->table_offsets = TableOffsets(m, next->slots, why);
    }
    next->table_value_bytes = m.ValueSize();
    bool in_order = !next->table_offsets.empty() && m.ValueSize() == next->row_bytes;
    for (size_t o = 0; in_order && o < next->slots.size(); ++o) {
      in_order = next->table_offsets[o] == next->slots[o].offset;
    }
    next->table_row_is_row = in_order;
  }
  plan_.store(next, std::memory_order_release);
  return next;
}

// A request on its way through the layers (Pending, named for the header).
struct HybridEndpoint::Request : Pending {};

void HybridEndpoint::InferAsync(core::InferRequest request, InferCallback done) const {
  absl::StatusOr<std::shared_ptr<Request>> started = Start(std::move(request));
  if (!started.ok()) return done(started.status());
  LookUpTable(*std::move(started), std::move(done));
}

absl::StatusOr<std::shared_ptr<HybridEndpoint::Request>> HybridEndpoint::Start(
    core::InferRequest request) const {
  if (core_ == nullptr) {
    return absl::UnavailableError(
        fmt::format("endpoint '{}' is not attached to a server", config_.name));
  }
  absl::StatusOr<std::shared_ptr<const ServedModel>> found =
      core_->FindModel(config_.model, request.model_version);
  if (!found.ok()) return found.status();
  const std::shared_ptr<const ServedModel> served = *std::move(found);
  if (!served->ready()) {
    return absl::UnavailableError(fmt::format("endpoint '{}': model '{}' is not ready: {}",
                                              config_.name, served->name, served->reason));
  }
  auto r = std::make_shared<Request>();
  r->table_start = Clock::now();
  std::shared_ptr<const store::PredictionTable> table = table_ ? table_->table() : nullptr;
  r->plan = PlanFor(served, table);
  if (!r->plan->status.ok()) return r->plan->status;
  if (!r->plan->table_offsets.empty()) r->asked = std::move(table);
  r->id = std::move(request.id);
  r->requested = std::move(request.outputs);
  r->model_version = std::move(request.model_version);
  r->parameters = std::move(request.parameters);
  if (absl::Status s = TakeInputs(std::move(request.inputs), served->config, *r); !s.ok()) {
    return s;
  }
  r->values.resize(r->keys.size() * r->plan->row_bytes);
  r->layers.assign(r->keys.size(), kNone);
  return r;
}

absl::Status HybridEndpoint::TakeInputs(std::vector<core::Tensor> inputs,
                                        const runtime::ModelConfig& model, Request& r) const {
  // Key columns address the table and the cache; the other inputs are the
  // model's.
  std::vector<core::Tensor> key_tensors(config_.key.size());
  std::vector<const core::Tensor*> key_columns(config_.key.size(), nullptr);
  for (core::Tensor& input : inputs) {
    auto it = std::find(config_.key.begin(), config_.key.end(), input.name);
    if (it == config_.key.end()) {
      r.model_inputs.push_back(std::move(input));
      continue;
    }
    const size_t c = static_cast<size_t>(it - config_.key.begin());
    key_tensors[c] = std::move(input);
    key_columns[c] = &key_tensors[c];
  }
  for (size_t c = 0; c < key_columns.size(); ++c) {
    if (key_columns[c] == nullptr) {
      return absl::InvalidArgumentError(fmt::format(
          "endpoint '{}' needs the key columns [{}] and the model's inputs; key column '{}' "
          "is missing",
          config_.name, fmt::join(config_.key, ", "), config_.key[c]));
    }
  }
  absl::StatusOr<std::vector<std::string>> keys = RowKeys(key_columns, model, r);
  if (!keys.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("endpoint '{}': {}", config_.name, std::string(keys.status().message())));
  }
  r.keys = *std::move(keys);
  for (const core::Tensor& input : r.model_inputs) {
    if (input.shape.empty() || input.shape[0] != static_cast<int64_t>(r.keys.size())) {
      return absl::InvalidArgumentError(fmt::format(
          "endpoint '{}': input '{}' must have one row per key ({} rows)", config_.name,
          input.name, r.keys.size()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> HybridEndpoint::RowKeys(
    const std::vector<const core::Tensor*>& key_columns, const runtime::ModelConfig& model,
    Request& r) const {
  // Without key columns (plan dynamic), a row's key is its own input bytes,
  // once the inputs are checked against the model's signature and put in
  // its order.
  if (config_.key.empty()) {
    core::InferRequest check;
    check.inputs = std::move(r.model_inputs);
    absl::Status s = ValidateAndOrderInputs(model, check);
    r.model_inputs = std::move(check.inputs);
    if (!s.ok()) return s;
    return RowInputKeys(r.model_inputs);
  }
  if (r.asked) return r.asked->manifest().key.EncodeTensors(key_columns);
  std::vector<store::KeyColumn> columns;
  for (size_t c = 0; c < key_columns.size(); ++c) {
    columns.push_back({config_.key[c], key_columns[c]->dtype == core::DataType::kBytes
                                           ? core::DataType::kBytes
                                           : core::DataType::kInt64});
  }
  return store::KeySchema(std::move(columns)).EncodeTensors(key_columns);
}

void HybridEndpoint::LookUpTable(std::shared_ptr<Request> r, InferCallback done) const {
  if (!r->asked) return AnswerRest(std::move(r), std::move(done));
  const std::shared_ptr<const store::PredictionTable> table = r->asked;
  // The table answers on any thread (a Redis table on its store's own).
  table->MultiGetAsync(r->keys, [this, r, done = std::move(done)](
                                    absl::StatusOr<store::LookupResult> got) mutable {
    TakeTableRows(*r, got);
    AnswerRest(std::move(r), std::move(done));
  });
}

void HybridEndpoint::TakeTableRows(Request& p, const absl::StatusOr<store::LookupResult>& got)
    const {
  const size_t rows = p.keys.size();
  if (!got.ok()) {  // unreachable store: every row goes on to the cache and model
    p.table_failed = true;
    if (rows > 0) core_->metrics().RecordTableUnavailable(config_.name, static_cast<int64_t>(rows));
    return;
  }
  const HybridPlan& plan = *p.plan;
  const size_t row_bytes = plan.row_bytes;
  p.table = p.asked;
  int64_t table_rows = 0;
  for (size_t r = 0; r < rows; ++r) {
    const std::string& stored = got->values[r];
    if (!got->found[r] || stored.size() != plan.table_value_bytes) continue;
    uint8_t* value = p.values.data() + r * row_bytes;
    if (plan.table_row_is_row) {
      std::memcpy(value, stored.data(), row_bytes);
    } else {
      for (size_t o = 0; o < plan.slots.size(); ++o) {
        std::memcpy(value + plan.slots[o].offset, stored.data() + plan.table_offsets[o],
                    plan.slots[o].bytes);
      }
    }
    p.layers[r] = kTable;
    ++table_rows;
  }
  if (table_rows > 0) {
    core_->metrics().RecordLayer(config_.name, kTableLayer, table_rows,
                                 Clock::now() - p.table_start);
  }
}

void HybridEndpoint::AnswerRest(std::shared_ptr<Request> r, InferCallback done) const {
  Pending& p = *r;
  const HybridPlan& plan = *p.plan;
  const size_t rows = p.keys.size();
  const size_t row_bytes = plan.row_bytes;
  const Clock::time_point cache_start = Clock::now();
  int64_t cache_rows = 0;
  std::string key = plan.cache_prefix;
  std::string value;
  const size_t prefix = key.size();
  for (size_t row = 0; row < rows; ++row) {
    if (p.layers[row] != kNone) continue;
    key.resize(prefix);
    key.append(p.keys[row]);
    if (cache_ && cache_->Get(key, value) && value.size() == row_bytes) {
      std::memcpy(p.values.data() + row * row_bytes, value.data(), row_bytes);
      p.layers[row] = kCache;
      ++cache_rows;
    } else {
      p.misses.push_back(row);
    }
  }
  const Clock::time_point model_start = Clock::now();
  if (cache_rows > 0) {
    core_->metrics().RecordLayer(config_.name, kCacheLayer, cache_rows,
                                 model_start - cache_start);
  }
  if (p.misses.empty()) return done(Respond(p, config_.name, config_.model, plan.version));
  absl::StatusOr<core::InferRequest> model_request = ModelRequest(*r);
  if (!model_request.ok()) return done(model_request.status());
  core_->InferModelAsync(*std::move(model_request),
                         [this, r, model_start, done = std::move(done)](
                             absl::StatusOr<core::InferResponse> answered) {
                           done(TakeModelRows(*r, std::move(answered), model_start));
                         });
}

absl::StatusOr<core::InferRequest> HybridEndpoint::ModelRequest(Request& p) const {
  // A key asked for twice in one request is computed once.
  std::unordered_map<std::string_view, size_t> first;
  for (size_t r : p.misses) {
    auto [it, added] = first.try_emplace(p.keys[r], p.model_rows.size());
    if (added) p.model_rows.push_back(r);
    p.computed_by.push_back(it->second);
  }
  const size_t rows = p.keys.size();
  core::InferRequest model_request;
  model_request.model_name = config_.model;
  model_request.model_version = std::move(p.model_version);
  model_request.parameters = std::move(p.parameters);
  for (core::Tensor& input : p.model_inputs) {
    if (p.model_rows.size() == rows) {
      model_request.inputs.push_back(std::move(input));
      continue;
    }
    absl::StatusOr<core::Tensor> gathered = GatherRows(input, p.model_rows, rows);
    if (!gathered.ok()) return gathered.status();
    model_request.inputs.push_back(*std::move(gathered));
  }
  p.model_inputs.clear();
  return model_request;
}

absl::StatusOr<core::InferResponse> HybridEndpoint::TakeModelRows(
    Request& p, absl::StatusOr<core::InferResponse> answered,
    Clock::time_point model_start) const {
  const HybridPlan& plan = *p.plan;
  if (!answered.ok()) {
    return absl::Status(answered.status().code(),
                        fmt::format("endpoint '{}': {}", config_.name,
                                    std::string(answered.status().message())));
  }
  const size_t computed = p.model_rows.size();
  const size_t row_bytes = plan.row_bytes;
  for (const OutputSlot& slot : plan.slots) {
    auto it = std::find_if(answered->outputs.begin(), answered->outputs.end(),
                           [&](const core::Tensor& t) { return t.name == slot.name; });
    if (it == answered->outputs.end() || it->data.size() != computed * slot.bytes) {
      return absl::InternalError(fmt::format(
          "endpoint '{}': model output '{}' missing or of the wrong size", config_.name,
          slot.name));
    }
    for (size_t i = 0; i < computed; ++i) {
      std::memcpy(p.values.data() + p.model_rows[i] * row_bytes + slot.offset,
                  it->data.data() + i * slot.bytes, slot.bytes);
    }
  }
  CacheModelRows(p, answered->model_version);
  for (size_t i = 0; i < p.misses.size(); ++i) {
    const size_t r = p.misses[i];
    p.layers[r] = kModel;
    const size_t computed_row = p.model_rows[p.computed_by[i]];
    if (r != computed_row) {
      std::memcpy(p.values.data() + r * row_bytes, p.values.data() + computed_row * row_bytes,
                  row_bytes);
    }
  }
  core_->metrics().RecordLayer(config_.name, kModelLayer, static_cast<int64_t>(p.misses.size()),
                               Clock::now() - model_start);
  return Respond(p, config_.name, config_.model, answered->model_version);
}

void HybridEndpoint::CacheModelRows(const Request& p, const std::string& version) const {
  if (!cache_) return;
  const HybridPlan& plan = *p.plan;
  // Cached under the version that computed the answers.
  std::string key = plan.cache_prefix;
  if (version != plan.version) {
    try {
      key = PredictionCache::Key(config_.model, std::stoll(version), "");
    } catch (...) {  // not a number: the version the request was planned for
    }
  }
  const size_t prefix = key.size();
  for (size_t r : p.model_rows) {
    key.resize(prefix);
    key.append(p.keys[r]);
    cache_->Put(key, std::string_view(
                         reinterpret_cast<const char*>(p.values.data()) + r * plan.row_bytes,
                         plan.row_bytes));
  }
}

}  // namespace strata::serving
