#include "serving/static_endpoint.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <type_traits>

#include "absl/container/flat_hash_map.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "serving/server_core.h"
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
      pinned->rows_.emplace(absl::string_view(key.data(), key.size()),
                            std::string(value));
      return absl::OkStatus();
    });
    if (!fits) return nullptr;
    if (!s.ok()) return s;
    pinned->bytes_ = bytes;
    return pinned;
  }

  const store::TableManifest& manifest() const override { return table_->manifest(); }

  absl::StatusOr<store::LookupResult> MultiGet(
      std::span<const std::string> keys) const override {
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
  explicit PinnedTable(std::shared_ptr<store::PredictionTable> table)
      : table_(std::move(table)) {}

  std::shared_ptr<store::PredictionTable> table_;  // the store's reader
  absl::flat_hash_map<std::string, std::string> rows_;
  size_t bytes_ = 0;
};

// Writes `value` into element `index` of a fixed-size tensor.
void StoreDefault(core::Tensor& t, size_t index, double value) {
  uint8_t* p = t.data.data() + index * core::ElementSize(t.dtype);
  core::VisitDataType(t.dtype, [&](auto tag) {
    using T = typename decltype(tag)::Element;
    // FP32, FP64, INT32, INT64, BOOL and UINT8; other types keep zero.
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> ||
                  std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t> ||
                  std::is_same_v<T, uint8_t>) {
      const T v = static_cast<T>(value);
      std::memcpy(p, &v, sizeof v);
    }
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<StaticEndpoint>> StaticEndpoint::Create(
    StaticEndpointConfig config, std::shared_ptr<store::TableStore> store) {
  std::unique_ptr<StaticEndpoint> endpoint(
      new StaticEndpoint(std::move(config), std::move(store), nullptr));
  if (absl::Status s = endpoint->Refresh(); !s.ok()) return s;
  return endpoint;
}

std::unique_ptr<StaticEndpoint> StaticEndpoint::Start(StaticEndpointConfig config,
                                                      std::shared_ptr<store::TableStore> store) {
  std::unique_ptr<StaticEndpoint> endpoint(
      new StaticEndpoint(std::move(config), std::move(store), nullptr));
  if (absl::Status s = endpoint->Refresh(); !s.ok()) {
    spdlog::warn("endpoint '{}' is not ready yet: {}", endpoint->name(),
                 std::string(s.message()));
  }
  return endpoint;
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
  if (*pinned == nullptr) return table;       // too large: looked up in RocksDB
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
    return not_ready(absl::NotFoundError(fmt::format(
        "endpoint '{}': table '{}' has no version in {}", config_.name, config_.table,
        store_->location())));
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
  d.plan = "static";
  d.properties["table"] = config_.table;
  d.properties["store"] = std::string(store_->kind());
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
  d.properties["table_version"] = std::to_string(m.version);
  d.properties["model"] = m.model_name;
  d.properties["model_version"] = std::to_string(m.model_version);
  d.properties["table_rows"] = std::to_string(m.rows);
  // What one entry costs: measured when the version is held in memory,
  // else its key and value bytes plus a store's usual per-entry overhead.
  double per_entry = 0;
  if (const auto* pinned = dynamic_cast<const PinnedTable*>(table.get())) {
    d.properties["in_memory_bytes"] = std::to_string(pinned->bytes());
    if (m.rows > 0) per_entry = static_cast<double>(pinned->bytes()) / static_cast<double>(m.rows);
  }
  if (per_entry <= 0) {
    size_t key_bytes = 0;
    for (const store::KeyColumn& c : m.key.columns()) {
      key_bytes += c.dtype == core::DataType::kBytes ? 16 : 8;
    }
    per_entry = static_cast<double>(m.ValueSize() + key_bytes + kPinnedRowOverhead);
  }
  d.properties["bytes_per_entry"] = fmt::format("{:.0f}", per_entry);
  if (std::string refused = last_error(); !refused.empty()) d.properties["refused"] = refused;
  return d;
}

void StaticEndpoint::InferAsync(core::InferRequest request, InferCallback done) const {
  if (!request.model_version.empty()) {
    const std::shared_ptr<const store::PredictionTable> table = this->table();
    const std::string serving = table ? std::to_string(table->manifest().version) : "";
    if (request.model_version != serving) {
      return done(absl::NotFoundError(fmt::format(
          "Request for unknown model: '{}' version {} is not found; endpoint '{}' serves "
          "table '{}' version {}",
          config_.name, request.model_version, config_.name, config_.table,
          serving.empty() ? "none" : serving)));
    }
  }
  absl::StatusOr<Lookup> prepared = Prepare(request);
  if (!prepared.ok()) return done(prepared.status());
  auto lookup = std::make_shared<const Lookup>(*std::move(prepared));
  lookup->table->MultiGetAsync(
      lookup->keys, [this, lookup, done = std::move(done)](
                        absl::StatusOr<store::LookupResult> found) {
        done(Answer(*lookup, std::move(found)));
      });
}

absl::StatusOr<core::InferResponse> StaticEndpoint::Infer(
    const core::InferRequest& request) const {
  absl::StatusOr<Lookup> lookup = Prepare(request);
  if (!lookup.ok()) return lookup.status();
  return Answer(*lookup, lookup->table->MultiGet(lookup->keys));
}

absl::StatusOr<StaticEndpoint::Lookup> StaticEndpoint::Prepare(
    const core::InferRequest& request) const {
  Lookup lookup;
  lookup.table = this->table();
  if (!lookup.table) {
    return absl::UnavailableError(
        fmt::format("endpoint '{}' is not ready: {}", config_.name, last_error()));
  }
  const store::KeySchema& key = lookup.table->manifest().key;
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
      return absl::InvalidArgumentError(fmt::format(
          "endpoint '{}' takes the key columns {}; '{}' is not one of them", config_.name,
          key.ToString(), input.name));
    }
  }
  for (size_t c = 0; c < key.size(); ++c) {
    if (columns[c] == nullptr) {
      return absl::InvalidArgumentError(
          fmt::format("endpoint '{}' needs key column '{}' ({}) as an input", config_.name,
                      key.columns()[c].name, key.ToString()));
    }
  }
  absl::StatusOr<std::vector<std::string>> keys = key.EncodeTensors(columns);
  if (!keys.ok()) return keys.status();
  lookup.keys = *std::move(keys);
  lookup.id = request.id;
  lookup.outputs = request.outputs;
  lookup.start = Clock::now();
  return lookup;
}

void StaticEndpoint::RecordLayers(const store::LookupResult& found,
                                  std::chrono::nanoseconds took) const {
  const size_t rows = found.found.size();
  if (core_ == nullptr || rows == 0) return;
  // Both layers took the one lookup that found, or missed, their rows.
  static const std::string kTableLayer = "table", kDefaultLayer = "default";
  int64_t table_rows = 0;
  for (uint8_t f : found.found) table_rows += f;
  const int64_t default_rows = static_cast<int64_t>(rows) - table_rows;
  ServerMetrics& metrics = core_->metrics();
  if (table_rows > 0) metrics.RecordLayer(config_.name, kTableLayer, table_rows, took);
  if (default_rows > 0) metrics.RecordLayer(config_.name, kDefaultLayer, default_rows, took);
}

namespace {

// Column `column` (at `offset` in a row's value) of every row: the table's
// bytes where found, else `default_value` in every element.
core::Tensor OutputColumn(const store::OutputColumn& column, size_t offset,
                          const store::LookupResult& found, double default_value) {
  const size_t rows = found.found.size();
  core::Shape shape = {static_cast<int64_t>(rows)};
  shape.insert(shape.end(), column.shape.begin(), column.shape.end());
  core::Tensor out = core::Tensor::Zeros(column.name, column.dtype, shape);
  const size_t bytes = column.BytesPerRow();
  const size_t elements = column.ElementsPerRow();
  for (size_t r = 0; r < rows; ++r) {
    if (found.found[r]) {
      std::memcpy(out.data.data() + r * bytes, found.values[r].data() + offset, bytes);
    } else {
      for (size_t e = 0; e < elements; ++e) StoreDefault(out, r * elements + e, default_value);
    }
  }
  return out;
}

// The outputs the request named, in its order; all when it named none.
absl::StatusOr<std::vector<core::Tensor>> SelectOutputs(
    std::vector<core::Tensor> outputs, const std::vector<core::RequestedOutput>& wanted,
    const std::string& endpoint) {
  if (wanted.empty()) return outputs;
  std::vector<core::Tensor> selected;
  for (const core::RequestedOutput& w : wanted) {
    auto it = std::find_if(outputs.begin(), outputs.end(),
                           [&](const core::Tensor& t) { return t.name == w.name; });
    if (it == outputs.end()) {
      return absl::InvalidArgumentError(
          fmt::format("endpoint '{}' has no output '{}'", endpoint, w.name));
    }
    selected.push_back(*it);
  }
  return selected;
}

}  // namespace

absl::StatusOr<core::InferResponse> StaticEndpoint::Answer(
    const Lookup& lookup, absl::StatusOr<store::LookupResult> found) const {
  const size_t rows = lookup.keys.size();
  const bool degraded = !found.ok();
  if (degraded) {
    if (!config_.default_when_unavailable) {
      return absl::UnavailableError(fmt::format("endpoint '{}': {}", config_.name,
                                                std::string(found.status().message())));
    }
    found = store::LookupResult{std::vector<std::string>(rows), std::vector<uint8_t>(rows, 0)};
    if (core_ != nullptr && rows > 0) {
      core_->metrics().RecordTableUnavailable(config_.name, static_cast<int64_t>(rows));
    }
  }
  RecordLayers(*found, Clock::now() - lookup.start);
  const store::TableManifest& manifest = lookup.table->manifest();
  std::vector<core::Tensor> outputs;
  size_t offset = 0;
  for (const store::OutputColumn& column : manifest.outputs) {
    outputs.push_back(OutputColumn(column, offset, *found, config_.default_value));
    offset += column.BytesPerRow();
  }
  core::Tensor mask =
      core::Tensor::Zeros("found", core::DataType::kBool, {static_cast<int64_t>(rows)});
  std::memcpy(mask.data.data(), found->found.data(), rows);
  outputs.push_back(std::move(mask));
  absl::StatusOr<std::vector<core::Tensor>> selected =
      SelectOutputs(std::move(outputs), lookup.outputs, config_.name);
  if (!selected.ok()) return selected.status();

  core::InferResponse response;
  response.model_name = config_.name;
  response.model_version = std::to_string(manifest.version);
  response.id = lookup.id;
  response.outputs = *std::move(selected);
  response.parameters["table"] = manifest.table;
  response.parameters["table_version"] = manifest.version;
  response.parameters["model"] = manifest.model_name;
  response.parameters["model_version"] = manifest.model_version;
  response.parameters["layer"] = std::string(degraded ? "default" : "table");
  if (degraded) response.parameters["degraded"] = true;
  return response;
}

}  // namespace strata::serving
