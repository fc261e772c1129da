#include "serving/server_core.h"

#include <algorithm>

#include "core/status_macros.h"
#include "fmt/format.h"
#include "serving/request_validator.h"

namespace strata::serving {

absl::StatusOr<std::unique_ptr<ServerCore>> ServerCore::Create(
    const ServerOptions& options, const runtime::BackendRegistry& backends) {
  STRATA_ASSIGN_OR_RETURN(std::vector<ServedModel> models,
                          ModelRepository::LoadAll(options.repository, backends));
  return std::unique_ptr<ServerCore>(new ServerCore(options, std::move(models)));
}

absl::StatusOr<const ServedModel*> ServerCore::FindModel(
    std::string_view name, std::string_view version) const {
  auto it = std::lower_bound(
      models_.begin(), models_.end(), name,
      [](const ServedModel& m, std::string_view n) { return m.name < n; });
  if (it == models_.end() || it->name != name) {
    return absl::NotFoundError(
        fmt::format("Request for unknown model: '{}' is not found", name));
  }
  if (version.empty() || (it->version != 0 && version == std::to_string(it->version))) {
    return &*it;
  }
  const std::string served =
      it->version == 0 ? std::string("none") : std::to_string(it->version);
  return absl::NotFoundError(fmt::format(
      "Request for unknown model: '{}' version '{}' is not found (served "
      "version: {})",
      name, version, served));
}

absl::StatusOr<core::InferResponse> ServerCore::Infer(
    core::InferRequest request) const {
  STRATA_ASSIGN_OR_RETURN(const ServedModel* served,
                          FindModel(request.model_name, request.model_version));
  if (!served->ready()) {
    return absl::UnavailableError(fmt::format(
        "model '{}' is not ready: {}", served->name, served->reason));
  }
  STRATA_RETURN_IF_ERROR(ValidateAndOrderInputs(served->config, request));
  STRATA_ASSIGN_OR_RETURN(std::vector<size_t> selected,
                          SelectOutputs(served->config, request));
  absl::StatusOr<std::vector<core::Tensor>> outputs =
      served->model->Run(request.inputs);
  if (!outputs.ok()) {
    const absl::StatusCode code =
        outputs.status().code() == absl::StatusCode::kInvalidArgument
            ? absl::StatusCode::kInvalidArgument
            : absl::StatusCode::kInternal;
    return absl::Status(code, fmt::format("model '{}' version {} failed: {}",
                                          served->name, served->version,
                                          std::string(outputs.status().message())));
  }
  core::InferResponse response;
  response.model_name = served->name;
  response.model_version = std::to_string(served->version);
  response.id = std::move(request.id);
  for (size_t index : selected) {
    core::Tensor& out = (*outputs)[index];
    out.name = served->config.outputs[index].name;
    response.outputs.push_back(std::move(out));
  }
  return response;
}

void ServerCore::InferAsync(core::InferRequest request,
                            InferCallback done) const {
  done(Infer(std::move(request)));
}

}  // namespace strata::serving
