#include "serving/static_endpoint.h"

#include <cstring>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "spdlog/spdlog.h"

namespace strata::serving {
namespace {

// Writes `value` into element `index` of a fixed-size tensor.
void StoreDefault(core::Tensor& t, size_t index, double value) {
  uint8_t* p = t.data.data() + index * core::ElementSize(t.dtype);
  auto put = [&](auto v) { std::memcpy(p, &v, sizeof v); };
  switch (t.dtype) {
    case core::DataType::kFp32: put(static_cast<float>(value)); break;
    case core::DataType::kFp64: put(value); break;
    case core::DataType::kInt32: put(static_cast<int32_t>(value)); break;
    case core::DataType::kInt64: put(static_cast<int64_t>(value)); break;
    case core::DataType::kBool:
    case core::DataType::kUint8: put(static_cast<uint8_t>(value)); break;
    default: break;  // other types keep zero
  }
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
  if (!table.ok() || config_.key.empty()) return table;
  const std::vector<store::KeyColumn>& columns = (*table)->manifest().key.columns();
  bool same = columns.size() == config_.key.size();
  for (size_t c = 0; same && c < columns.size(); ++c) same = columns[c].name == config_.key[c];
  if (!same) {
    return absl::FailedPreconditionError(
        fmt::format("its key is {} but the endpoint's key is [{}]",
                    (*table)->manifest().key.ToString(), fmt::join(config_.key, ", ")));
  }
  return table;
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
  std::lock_guard lock(mutex_);
  return last_error_;
}

absl::Status StaticEndpoint::Refresh() {
  std::lock_guard lock(mutex_);
  const std::shared_ptr<const store::PredictionTable> serving_table = table();
  const int64_t serving = serving_table ? serving_table->manifest().version : 0;
  auto not_ready = [&](absl::Status status) {
    if (serving == 0) last_error_ = std::string(status.message());
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
    last_error_ = why;
    if (serving != 0) {
      spdlog::error("endpoint '{}': {}; version {} keeps serving", config_.name, why, serving);
    }
    return absl::Status(next.status().code(), why);
  }
  table_.store(*std::move(next), std::memory_order_release);
  last_error_.clear();
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
  done(Infer(request));
}

absl::StatusOr<core::InferResponse> StaticEndpoint::Infer(
    const core::InferRequest& request) const {
  const std::shared_ptr<const store::PredictionTable> table = this->table();
  if (!table) {
    return absl::UnavailableError(
        fmt::format("endpoint '{}' is not ready: {}", config_.name, last_error()));
  }
  const store::TableManifest& manifest = table->manifest();
  const store::KeySchema& key = manifest.key;
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
  const size_t rows = keys->size();

  bool degraded = false;
  absl::StatusOr<store::LookupResult> found = table->MultiGet(*keys);
  if (!found.ok()) {
    if (!config_.default_when_unavailable) {
      return absl::UnavailableError(fmt::format("endpoint '{}': {}", config_.name,
                                                std::string(found.status().message())));
    }
    degraded = true;
    found = store::LookupResult{std::vector<std::string>(rows),
                                std::vector<uint8_t>(rows, 0)};
  }

  core::InferResponse response;
  response.model_name = config_.name;
  response.model_version = std::to_string(manifest.version);
  response.id = request.id;
  size_t offset = 0;
  for (const store::OutputColumn& column : manifest.outputs) {
    core::Shape shape = {static_cast<int64_t>(rows)};
    shape.insert(shape.end(), column.shape.begin(), column.shape.end());
    core::Tensor out = core::Tensor::Zeros(column.name, column.dtype, shape);
    const size_t bytes = column.BytesPerRow();
    const size_t elements = column.ElementsPerRow();
    for (size_t r = 0; r < rows; ++r) {
      if (found->found[r]) {
        std::memcpy(out.data.data() + r * bytes, found->values[r].data() + offset, bytes);
      } else {
        for (size_t e = 0; e < elements; ++e) {
          StoreDefault(out, r * elements + e, config_.default_value);
        }
      }
    }
    offset += bytes;
    response.outputs.push_back(std::move(out));
  }
  core::Tensor mask = core::Tensor::Zeros("found", core::DataType::kBool,
                                          {static_cast<int64_t>(rows)});
  std::memcpy(mask.data.data(), found->found.data(), rows);
  response.outputs.push_back(std::move(mask));
  if (!request.outputs.empty()) {
    std::vector<core::Tensor> selected;
    for (const core::RequestedOutput& wanted : request.outputs) {
      auto it = std::find_if(response.outputs.begin(), response.outputs.end(),
                             [&](const core::Tensor& t) { return t.name == wanted.name; });
      if (it == response.outputs.end()) {
        return absl::InvalidArgumentError(fmt::format(
            "endpoint '{}' has no output '{}'", config_.name, wanted.name));
      }
      selected.push_back(*it);
    }
    response.outputs = std::move(selected);
  }
  response.parameters["table"] = manifest.table;
  response.parameters["table_version"] = manifest.version;
  response.parameters["model"] = manifest.model_name;
  response.parameters["model_version"] = manifest.model_version;
  response.parameters["layer"] = std::string(degraded ? "default" : "table");
  if (degraded) response.parameters["degraded"] = true;
  return response;
}

}  // namespace strata::serving
