#include "serving/hybrid_endpoint.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "fmt/format.h"
#include "fmt/ranges.h"
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

// Everything one request needs across the model call.
struct Pending {
  std::string endpoint;
  std::string model;
  std::string id;
  std::vector<core::RequestedOutput> requested;
  std::vector<OutputSlot> slots;
  size_t row_bytes = 0;
  std::vector<std::string> keys;    // canonical key bytes per row
  std::vector<std::string> values;  // concatenated outputs per row
  std::vector<uint8_t> layers;      // Layer per row
  std::vector<size_t> misses;       // rows no table or cache answered
  std::vector<size_t> model_rows;   // the first row of each distinct missed key
  std::vector<size_t> computed_by;  // per miss: its index in model_rows
  int64_t cache_version = 0;        // the version the cache was read at
  std::string table;
  int64_t table_version = 0;
};

absl::StatusOr<core::InferResponse> Respond(const Pending& p, const std::string& version) {
  const size_t rows = p.keys.size();
  core::InferResponse response;
  response.model_name = p.endpoint;
  response.model_version = version;
  response.id = p.id;
  std::vector<core::Tensor> outputs;
  for (const OutputSlot& slot : p.slots) {
    core::Shape shape = {static_cast<int64_t>(rows)};
    shape.insert(shape.end(), slot.row_shape.begin(), slot.row_shape.end());
    core::Tensor out = core::Tensor::Zeros(slot.name, slot.dtype, shape);
    for (size_t r = 0; r < rows; ++r) {
      std::memcpy(out.data.data() + r * slot.bytes, p.values[r].data() + slot.offset,
                  slot.bytes);
    }
    outputs.push_back(std::move(out));
  }
  core::Tensor layer;
  layer.name = "layer";
  layer.dtype = core::DataType::kBytes;
  layer.shape = {static_cast<int64_t>(rows)};
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
            fmt::format("endpoint '{}' has no output '{}'", p.endpoint, wanted.name));
      }
      response.outputs.push_back(*it);
    }
  }
  response.parameters["model"] = p.model;
  response.parameters["model_version"] = version;
  response.parameters["layer_table"] = counts[kTable];
  response.parameters["layer_cache"] = counts[kCache];
  response.parameters["layer_model"] = counts[kModel];
  std::string single = "mixed";
  for (int l = kTable; l <= kModel; ++l) {
    if (counts[l] == static_cast<int64_t>(rows)) single = kLayerNames[l];
  }
  response.parameters["layer"] = rows == 0 ? std::string("none") : single;
  if (!p.table.empty()) {
    response.parameters["table"] = p.table;
    response.parameters["table_version"] = p.table_version;
  }
  return response;
}

}  // namespace

HybridEndpoint::HybridEndpoint(HybridEndpointConfig config,
                               std::shared_ptr<store::TableStore> store)
    : config_(std::move(config)) {
  table_ = StaticEndpoint::Start(
      {.name = config_.name, .table = config_.table, .default_value = 0,
       .default_when_unavailable = true, .key = config_.key},
      std::move(store));
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
  d.plan = "hybrid";
  d.properties["model"] = config_.model;
  d.properties["table"] = config_.table;
  d.properties["cache_max_bytes"] = std::to_string(config_.cache_max_bytes);
  const std::shared_ptr<const store::PredictionTable> table = table_->table();
  std::vector<store::KeyColumn> key;
  if (table) {
    const store::TableManifest& m = table->manifest();
    d.properties["table_version"] = std::to_string(m.version);
    d.properties["table_model"] = fmt::format("{}:{}", m.model_name, m.model_version);
    key = m.key.columns();
  } else {
    for (const std::string& k : config_.key) key.push_back({k, core::DataType::kInt64});
    d.properties["table_reason"] = table_->last_error();
  }
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

void HybridEndpoint::InferAsync(core::InferRequest request, InferCallback done) const {
  if (core_ == nullptr) {
    return done(absl::UnavailableError(
        fmt::format("endpoint '{}' is not attached to a server", config_.name)));
  }
  absl::StatusOr<std::shared_ptr<const ServedModel>> found =
      core_->FindModel(config_.model, request.model_version);
  if (!found.ok()) return done(found.status());
  const std::shared_ptr<const ServedModel> served = *std::move(found);
  if (!served->ready()) {
    return done(absl::UnavailableError(fmt::format(
        "endpoint '{}': model '{}' is not ready: {}", config_.name, served->name,
        served->reason)));
  }
  auto pending = std::make_shared<Pending>();
  Pending& p = *pending;
  p.endpoint = config_.name;
  p.model = config_.model;
  p.id = request.id;
  p.requested = request.outputs;
  p.cache_version = served->version;
  absl::StatusOr<std::vector<OutputSlot>> slots = SlotsOf(served->config, config_.model);
  if (!slots.ok()) return done(slots.status());
  p.slots = *std::move(slots);
  for (const OutputSlot& s : p.slots) p.row_bytes += s.bytes;

  // Key columns address the table and the cache; the other inputs are the
  // model's.
  std::vector<const core::Tensor*> key_columns(config_.key.size(), nullptr);
  std::vector<core::Tensor> model_inputs;
  for (core::Tensor& input : request.inputs) {
    auto it = std::find(config_.key.begin(), config_.key.end(), input.name);
    if (it != config_.key.end()) {
      key_columns[static_cast<size_t>(it - config_.key.begin())] = &input;
    } else {
      model_inputs.push_back(std::move(input));
    }
  }
  for (size_t c = 0; c < key_columns.size(); ++c) {
    if (key_columns[c] == nullptr) {
      return done(absl::InvalidArgumentError(fmt::format(
          "endpoint '{}' needs the key columns [{}] and the model's inputs; key column '{}' "
          "is missing",
          config_.name, fmt::join(config_.key, ", "), config_.key[c])));
    }
  }

  // The table, when it was produced by the model version now serving.
  const Clock::time_point table_start = Clock::now();
  std::shared_ptr<const store::PredictionTable> table = table_->table();
  std::vector<size_t> table_offsets;
  if (table) {
    const store::TableManifest& m = table->manifest();
    std::string why;
    if (m.model_name == config_.model && m.model_version == served->version) {
      table_offsets = TableOffsets(m, p.slots, why);
    }
    if (table_offsets.empty()) table.reset();
  }
  absl::StatusOr<std::vector<std::string>> keys;
  if (table) {
    keys = table->manifest().key.EncodeTensors(key_columns);
  } else {
    std::vector<store::KeyColumn> columns;
    for (size_t c = 0; c < key_columns.size(); ++c) {
      columns.push_back({config_.key[c], key_columns[c]->dtype == core::DataType::kBytes
                                             ? core::DataType::kBytes
                                             : core::DataType::kInt64});
    }
    keys = store::KeySchema(std::move(columns)).EncodeTensors(key_columns);
  }
  if (!keys.ok()) {
    return done(absl::InvalidArgumentError(
        fmt::format("endpoint '{}': {}", config_.name, std::string(keys.status().message()))));
  }
  p.keys = *std::move(keys);
  const size_t rows = p.keys.size();
  for (const core::Tensor& input : model_inputs) {
    if (input.shape.empty() || input.shape[0] != static_cast<int64_t>(rows)) {
      return done(absl::InvalidArgumentError(fmt::format(
          "endpoint '{}': input '{}' must have one row per key ({} rows)", config_.name,
          input.name, rows)));
    }
  }
  p.values.assign(rows, std::string());
  p.layers.assign(rows, kNone);

  int64_t table_rows = 0;
  if (table) {
    absl::StatusOr<store::LookupResult> got = table->MultiGet(p.keys);
    if (got.ok()) {  // unreachable store: every row goes on to the cache and model
      p.table = table->manifest().table;
      p.table_version = table->manifest().version;
      for (size_t r = 0; r < rows; ++r) {
        if (!got->found[r]) continue;
        std::string& value = p.values[r];
        value.resize(p.row_bytes);
        for (size_t o = 0; o < p.slots.size(); ++o) {
          std::memcpy(value.data() + p.slots[o].offset,
                      got->values[r].data() + table_offsets[o], p.slots[o].bytes);
        }
        p.layers[r] = kTable;
        ++table_rows;
      }
    }
  }
  ServerMetrics& metrics = core_->metrics();
  const Clock::time_point cache_start = Clock::now();
  if (table_rows > 0) metrics.RecordLayer(config_.name, "table", table_rows, cache_start - table_start);

  int64_t cache_rows = 0;
  for (size_t r = 0; r < rows; ++r) {
    if (p.layers[r] != kNone) continue;
    if (cache_ && cache_->Get(PredictionCache::Key(config_.model, served->version, p.keys[r]),
                              p.values[r]) &&
        p.values[r].size() == p.row_bytes) {
      p.layers[r] = kCache;
      ++cache_rows;
    } else {
      p.misses.push_back(r);
    }
  }
  const Clock::time_point model_start = Clock::now();
  if (cache_rows > 0) metrics.RecordLayer(config_.name, "cache", cache_rows, model_start - cache_start);
  if (p.misses.empty()) return done(Respond(p, std::to_string(served->version)));
  // A key asked for twice in one request is computed once.
  std::unordered_map<std::string_view, size_t> first;
  for (size_t r : p.misses) {
    auto [it, added] = first.try_emplace(p.keys[r], p.model_rows.size());
    if (added) p.model_rows.push_back(r);
    p.computed_by.push_back(it->second);
  }

  core::InferRequest model_request;
  model_request.model_name = config_.model;
  model_request.model_version = request.model_version;
  model_request.parameters = std::move(request.parameters);
  for (core::Tensor& input : model_inputs) {
    if (p.model_rows.size() == rows) {
      model_request.inputs.push_back(std::move(input));
      continue;
    }
    absl::StatusOr<core::Tensor> gathered = GatherRows(input, p.model_rows, rows);
    if (!gathered.ok()) return done(gathered.status());
    model_request.inputs.push_back(*std::move(gathered));
  }
  core_->InferModelAsync(
      std::move(model_request),
      [this, pending, model_start, done = std::move(done)](
          absl::StatusOr<core::InferResponse> answered) {
        Pending& p = *pending;
        if (!answered.ok()) {
          return done(absl::Status(answered.status().code(),
                                   fmt::format("endpoint '{}': {}", p.endpoint,
                                               std::string(answered.status().message()))));
        }
        const size_t computed = p.model_rows.size();
        for (const OutputSlot& slot : p.slots) {
          auto it = std::find_if(answered->outputs.begin(), answered->outputs.end(),
                                 [&](const core::Tensor& t) { return t.name == slot.name; });
          if (it == answered->outputs.end() || it->data.size() != computed * slot.bytes) {
            return done(absl::InternalError(fmt::format(
                "endpoint '{}': model output '{}' missing or of the wrong size", p.endpoint,
                slot.name)));
          }
          for (size_t i = 0; i < computed; ++i) {
            std::string& value = p.values[p.model_rows[i]];
            value.resize(p.row_bytes);
            std::memcpy(value.data() + slot.offset, it->data.data() + i * slot.bytes,
                        slot.bytes);
          }
        }
        // Cached under the version that computed the answers.
        int64_t version = p.cache_version;
        try {
          version = std::stoll(answered->model_version);
        } catch (...) {
        }
        for (size_t r : p.model_rows) {
          if (cache_) cache_->Put(PredictionCache::Key(p.model, version, p.keys[r]), p.values[r]);
        }
        for (size_t i = 0; i < p.misses.size(); ++i) {
          const size_t r = p.misses[i];
          p.layers[r] = kModel;
          const size_t computed_row = p.model_rows[p.computed_by[i]];
          if (r != computed_row) p.values[r] = p.values[computed_row];
        }
        core_->metrics().RecordLayer(p.endpoint, "model", static_cast<int64_t>(p.misses.size()),
                                     Clock::now() - model_start);
        done(Respond(p, answered->model_version));
      });
}

}  // namespace strata::serving
