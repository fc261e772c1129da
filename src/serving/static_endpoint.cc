#include "serving/static_endpoint.h"

#include <cstring>

#include "fmt/format.h"
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
  absl::StatusOr<int64_t> current = store->CurrentVersion(config.table);
  if (!current.ok()) return current.status();
  if (*current == 0) {
    return absl::NotFoundError(fmt::format("endpoint '{}': table '{}' has no version in {}",
                                           config.name, config.table, store->location()));
  }
  absl::StatusOr<std::shared_ptr<store::PredictionTable>> table =
      store->Open(config.table, *current);
  if (!table.ok()) return table.status();
  return std::unique_ptr<StaticEndpoint>(
      new StaticEndpoint(std::move(config), std::move(store), *std::move(table)));
}

std::string StaticEndpoint::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

absl::Status StaticEndpoint::Refresh() {
  std::lock_guard lock(mutex_);
  absl::StatusOr<int64_t> current = store_->CurrentVersion(config_.table);
  if (!current.ok()) return current.status();  // store unreachable: keep serving
  const int64_t serving = table()->manifest().version;
  if (*current == serving || *current == 0 || *current == refused_version_) {
    return absl::OkStatus();
  }
  absl::StatusOr<std::shared_ptr<store::PredictionTable>> next =
      store_->Open(config_.table, *current);
  if (!next.ok()) {
    refused_version_ = *current;
    last_error_ = fmt::format("table '{}' version {} refused: {}", config_.table, *current,
                              std::string(next.status().message()));
    spdlog::error("endpoint '{}': {}; version {} keeps serving", config_.name, last_error_,
                  serving);
    return absl::Status(next.status().code(), last_error_);
  }
  table_.store(*std::move(next), std::memory_order_release);
  last_error_.clear();
  spdlog::info("endpoint '{}': table '{}' version {} is serving (was {})", config_.name,
               config_.table, *current, serving);
  return absl::OkStatus();
}

absl::StatusOr<core::InferResponse> StaticEndpoint::Infer(
    const core::InferRequest& request) const {
  const std::shared_ptr<const store::PredictionTable> table = this->table();
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
