#include "api/grpc_codec.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "api/endpoint_json.h"
#include "api/reserved_parameters.h"
#include "api/version_state_text.h"
#include "core/buffer_pool.h"
#include "core/status_macros.h"
#include "fmt/format.h"

namespace strata::api {
namespace {

using core::DataType;
using InputTensor = inference::ModelInferRequest::InferInputTensor;

absl::Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

absl::StatusOr<core::ParameterValue> DecodeValue(const std::string& key,
                                                 const inference::InferParameter& parameter) {
  using P = inference::InferParameter;
  switch (parameter.parameter_choice_case()) {
    case P::kBoolParam:
      return core::ParameterValue(parameter.bool_param());
    case P::kInt64Param:
      return core::ParameterValue(parameter.int64_param());
    case P::kStringParam:
      return core::ParameterValue(parameter.string_param());
    case P::kDoubleParam:
      return core::ParameterValue(parameter.double_param());
    case P::kUint64Param:
      if (parameter.uint64_param() <= uint64_t{std::numeric_limits<int64_t>::max()}) {
        return core::ParameterValue(static_cast<int64_t>(parameter.uint64_param()));
      }
      return core::ParameterValue(static_cast<double>(parameter.uint64_param()));
    case P::PARAMETER_CHOICE_NOT_SET:
      break;
  }
  return Invalid(fmt::format("parameter '{}' has no value", key));
}

// Parameters that steer the REST binary extension; meaningless over gRPC,
// where outputs are always raw, so they are accepted and dropped.
bool IsBinaryExtensionParameter(std::string_view key) {
  return key == "binary_data" || key == "binary_data_output" || key == "binary_data_size";
}

// The parameters in `map` that strata keeps, each checked for `scope`.
absl::StatusOr<core::Parameters> DecodeParameters(
    const google::protobuf::Map<std::string, inference::InferParameter>& map,
    ParameterScope scope) {
  core::Parameters parameters;
  for (const auto& [key, value] : map) {
    if (IsBinaryExtensionParameter(key)) continue;
    STRATA_ASSIGN_OR_RETURN(core::ParameterValue decoded, DecodeValue(key, value));
    STRATA_RETURN_IF_ERROR(CheckParameter(scope, key, decoded));
    parameters.emplace(key, std::move(decoded));
  }
  return parameters;
}

template <typename T>
void AppendValue(T value, std::vector<uint8_t>& out) {
  const size_t offset = out.size();
  out.resize(offset + sizeof(T));
  std::memcpy(out.data() + offset, &value, sizeof(T));
}

// Appends `values`, each narrowed to T after a range check.
template <typename T, typename Values>
absl::Status AppendNarrowed(const Values& values, const InputTensor& input,
                            std::vector<uint8_t>& out) {
  out.reserve(values.size() * sizeof(T));
  for (auto v : values) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, decltype(v)>) {
      if (!std::in_range<T>(v)) {
        return Invalid(fmt::format("input '{}': value {} is out of range for {}", input.name(), v,
                                   input.datatype()));
      }
    }
    AppendValue(static_cast<T>(v), out);
  }
  return absl::OkStatus();
}

// How many values each typed field of `contents` holds, by field number.
std::vector<std::pair<int, int>> FilledFields(const inference::InferTensorContents& c) {
  std::vector<std::pair<int, int>> filled;
  const std::pair<int, int> all[] = {{1, c.bool_contents_size()},   {2, c.int_contents_size()},
                                     {3, c.int64_contents_size()},  {4, c.uint_contents_size()},
                                     {5, c.uint64_contents_size()}, {6, c.fp32_contents_size()},
                                     {7, c.fp64_contents_size()},   {8, c.bytes_contents_size()}};
  for (const auto& field : all) {
    if (field.second > 0) filled.push_back(field);
  }
  return filled;
}

std::string_view FieldName(int number) {
  constexpr std::string_view kNames[] = {"",
                                         "bool_contents",
                                         "int_contents",
                                         "int64_contents",
                                         "uint_contents",
                                         "uint64_contents",
                                         "fp32_contents",
                                         "fp64_contents",
                                         "bytes_contents"};
  return kNames[number];
}

// The typed field that carries `dtype`; 0 when it must be sent raw.
int FieldFor(DataType dtype) {
  switch (dtype) {
    case DataType::kBool:
      return 1;
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32:
      return 2;
    case DataType::kInt64:
      return 3;
    case DataType::kUint8:
    case DataType::kUint16:
    case DataType::kUint32:
      return 4;
    case DataType::kUint64:
      return 5;
    case DataType::kFp32:
      return 6;
    case DataType::kFp64:
      return 7;
    case DataType::kBytes:
      return 8;
    case DataType::kFp16:
    case DataType::kBf16:
      return 0;
  }
  return 0;
}

// The bytes to take from the pool for typed contents of `count` elements:
// decoded into a buffer an earlier request gave back, when one is large
// enough. The shape's count (checked after decoding) sizes it only up to the
// pool's cap, so a shape that overstates its values reserves little.
size_t TypedCapacity(DataType dtype, int64_t count) {
  if (dtype == DataType::kBytes) return 0;
  return std::min(static_cast<size_t>(std::min<int64_t>(count, 1 << 24)) * core::ElementSize(dtype),
                  core::TensorDataPool::kMaxBytes);
}

absl::Status DecodeTypedContents(const InputTensor& input, core::Tensor& tensor) {
  const inference::InferTensorContents& c = input.contents();
  const int field = FieldFor(tensor.dtype);
  if (field == 0) {
    return Invalid(
        fmt::format("input '{}': {} has no typed contents field; send it in raw_input_contents",
                    input.name(), input.datatype()));
  }
  for (const auto& [number, count] : FilledFields(c)) {
    if (number != field) {
      return Invalid(
          fmt::format("input '{}' is {} and belongs in contents.{}, but "
                      "contents.{} holds {} values",
                      input.name(), input.datatype(), FieldName(field), FieldName(number), count));
    }
  }
  std::vector<uint8_t>& out = tensor.data;
  return core::VisitDataType(tensor.dtype, [&](auto tag) -> absl::Status {
    using Tag = decltype(tag);
    using T = typename Tag::Element;
    if constexpr (Tag::kIsBool) {
      for (bool v : c.bool_contents()) AppendValue<uint8_t>(v ? 1 : 0, out);
    } else if constexpr (Tag::kIsInteger && std::is_signed_v<T> && sizeof(T) == 8) {
      return AppendNarrowed<T>(c.int64_contents(), input, out);
    } else if constexpr (Tag::kIsInteger && std::is_signed_v<T>) {
      return AppendNarrowed<T>(c.int_contents(), input, out);
    } else if constexpr (Tag::kIsInteger && sizeof(T) == 8) {
      return AppendNarrowed<T>(c.uint64_contents(), input, out);
    } else if constexpr (Tag::kIsInteger) {
      return AppendNarrowed<T>(c.uint_contents(), input, out);
    } else if constexpr (std::is_same_v<T, float>) {
      return AppendNarrowed<T>(c.fp32_contents(), input, out);
    } else if constexpr (std::is_same_v<T, double>) {
      return AppendNarrowed<T>(c.fp64_contents(), input, out);
    } else if constexpr (Tag::kIsBytes) {
      for (const std::string& element : c.bytes_contents()) {
        if (element.size() > std::numeric_limits<uint32_t>::max()) {
          return Invalid(fmt::format("input '{}': a BYTES element exceeds 4 GiB", input.name()));
        }
        core::AppendBytesElement(element, out);
      }
    }
    return absl::OkStatus();  // FP16 and BF16 have no typed field: refused above
  });
}

absl::StatusOr<core::Tensor> DecodeInput(const inference::ModelInferRequest& request, int index) {
  const InputTensor& input = request.inputs(index);
  core::Tensor tensor;
  if (input.name().empty()) {
    return Invalid(fmt::format("inputs[{}] needs a non-empty name", index));
  }
  tensor.name = input.name();
  std::optional<DataType> dtype = core::DataTypeFromName(input.datatype());
  if (!dtype) {
    return Invalid(
        fmt::format("input '{}' has unknown datatype '{}'; use one of BOOL, UINT8, UINT16, "
                    "UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, BF16, FP32, FP64, BYTES",
                    input.name(), input.datatype()));
  }
  tensor.dtype = *dtype;
  tensor.shape.reserve(static_cast<size_t>(input.shape_size()));
  for (int64_t dim : input.shape()) {
    if (dim < 0) {
      return Invalid(
          fmt::format("input '{}' has an invalid shape dimension {}; "
                      "dimensions are non-negative integers",
                      input.name(), dim));
    }
    tensor.shape.push_back(dim);
  }
  const std::optional<int64_t> count = core::ElementCount(tensor.shape);
  if (!count) {
    return Invalid(
        fmt::format("input '{}' has a shape whose element count overflows", input.name()));
  }
  if (request.raw_input_contents_size() > 0) {
    if (input.has_contents() && !FilledFields(input.contents()).empty()) {
      return Invalid(
          fmt::format("input '{}' sets typed contents, but the request also uses "
                      "raw_input_contents; send every input one way",
                      input.name()));
    }
    const std::string& raw = request.raw_input_contents(index);
    tensor.data = core::TensorDataPool::Take(raw.size());  // core/buffer_pool.h
    tensor.data.assign(raw.begin(), raw.end());
    // Raw framing is part of the wire format: check it whatever the model.
    STRATA_RETURN_IF_ERROR(core::ValidateTensorData(tensor));
    return tensor;
  }
  tensor.data = core::TensorDataPool::Take(TypedCapacity(tensor.dtype, *count));
  STRATA_RETURN_IF_ERROR(DecodeTypedContents(input, tensor));
  if (tensor.dtype != DataType::kBytes &&
      static_cast<int64_t>(tensor.data.size() / core::ElementSize(tensor.dtype)) != *count) {
    return Invalid(fmt::format("input '{}' has {} values in contents but shape {} needs {}",
                               input.name(), tensor.data.size() / core::ElementSize(tensor.dtype),
                               core::ShapeToString(tensor.shape), *count));
  }
  return tensor;
}

// Checks every input's parameters, before anything counts their contents:
// an input in shared memory is refused for what it is, not for the raw
// contents it lacks.
absl::Status CheckInputParameters(const inference::ModelInferRequest& request) {
  for (const InputTensor& input : request.inputs()) {
    absl::StatusOr<core::Parameters> parameters =
        DecodeParameters(input.parameters(), ParameterScope::kInput);
    if (!parameters.ok()) {
      return Invalid(
          fmt::format("input '{}': {}", input.name(), std::string(parameters.status().message())));
    }
  }
  return absl::OkStatus();
}

inference::DataType ConfigDataType(DataType dtype) {
  switch (dtype) {
    case DataType::kBool:
      return inference::TYPE_BOOL;
    case DataType::kUint8:
      return inference::TYPE_UINT8;
    case DataType::kUint16:
      return inference::TYPE_UINT16;
    case DataType::kUint32:
      return inference::TYPE_UINT32;
    case DataType::kUint64:
      return inference::TYPE_UINT64;
    case DataType::kInt8:
      return inference::TYPE_INT8;
    case DataType::kInt16:
      return inference::TYPE_INT16;
    case DataType::kInt32:
      return inference::TYPE_INT32;
    case DataType::kInt64:
      return inference::TYPE_INT64;
    case DataType::kFp16:
      return inference::TYPE_FP16;
    case DataType::kBf16:
      return inference::TYPE_BF16;
    case DataType::kFp32:
      return inference::TYPE_FP32;
    case DataType::kFp64:
      return inference::TYPE_FP64;
    case DataType::kBytes:
      return inference::TYPE_STRING;
  }
  return inference::TYPE_INVALID;
}

// A config's dims: the declared shape without the batch dimension when the
// model batches (Triton's convention).
template <typename Dims>
void SetDims(const runtime::ModelConfig& config, const core::Shape& shape, Dims& dims) {
  const size_t skip = config.max_batch_size > 0 && !shape.empty() ? 1 : 0;
  for (size_t i = skip; i < shape.size(); ++i) dims.Add(shape[i]);
}

}  // namespace

absl::StatusOr<core::InferRequest> DecodeModelInferRequest(
    const inference::ModelInferRequest& request) {
  if (request.model_name().empty()) {
    return Invalid("the request needs a model_name");
  }
  STRATA_ASSIGN_OR_RETURN(core::Parameters parameters,
                          DecodeParameters(request.parameters(), ParameterScope::kRequest));
  STRATA_RETURN_IF_ERROR(CheckInputParameters(request));
  if (request.raw_input_contents_size() > 0 &&
      request.raw_input_contents_size() != request.inputs_size()) {
    return Invalid(
        fmt::format("the request has {} raw_input_contents for {} inputs; raw_input_contents[i] "
                    "must hold inputs[i], one for each input",
                    request.raw_input_contents_size(), request.inputs_size()));
  }
  core::InferRequest decoded;
  decoded.model_name = request.model_name();
  decoded.model_version = request.model_version();
  decoded.id = request.id();
  decoded.parameters = std::move(parameters);
  decoded.inputs.reserve(request.inputs_size());
  for (int i = 0; i < request.inputs_size(); ++i) {
    STRATA_ASSIGN_OR_RETURN(core::Tensor tensor, DecodeInput(request, i));
    decoded.inputs.push_back(std::move(tensor));
  }
  for (const auto& output : request.outputs()) {
    core::RequestedOutput requested;
    requested.name = output.name();
    if (requested.name.empty()) return Invalid("a requested output needs a name");
    absl::StatusOr<core::Parameters> parameters =
        DecodeParameters(output.parameters(), ParameterScope::kOutput);
    if (!parameters.ok()) {
      return Invalid(fmt::format("output '{}': {}", requested.name,
                                 std::string(parameters.status().message())));
    }
    requested.parameters = *std::move(parameters);
    decoded.outputs.push_back(std::move(requested));
  }
  return decoded;
}

void EncodeModelInferResponse(const core::InferResponse& response,
                              inference::ModelInferResponse& out) {
  out.set_model_name(response.model_name);
  out.set_model_version(response.model_version);
  out.set_id(response.id);
  for (const auto& [key, value] : response.parameters) {
    inference::InferParameter& parameter = (*out.mutable_parameters())[key];
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, bool>)
            parameter.set_bool_param(v);
          else if constexpr (std::is_same_v<V, int64_t>)
            parameter.set_int64_param(v);
          else if constexpr (std::is_same_v<V, double>)
            parameter.set_double_param(v);
          else
            parameter.set_string_param(v);
        },
        value);
  }
  for (const core::Tensor& tensor : response.outputs) {
    inference::ModelInferResponse::InferOutputTensor* output = out.add_outputs();
    output->set_name(tensor.name);
    output->set_datatype(std::string(core::DataTypeName(tensor.dtype)));
    for (int64_t dim : tensor.shape) output->add_shape(dim);
    out.add_raw_output_contents(reinterpret_cast<const char*>(tensor.data.data()),
                                tensor.data.size());
  }
}

void EncodeModelMetadata(const serving::ServedModel& model, inference::ModelMetadataResponse& out) {
  out.set_name(model.name);
  if (model.ready()) out.add_versions(std::to_string(model.version));
  out.set_platform(model.platform);
  const auto add = [](const runtime::TensorSpec& spec, auto* tensor) {
    tensor->set_name(spec.name);
    tensor->set_datatype(std::string(core::DataTypeName(spec.dtype)));
    for (int64_t dim : spec.shape) tensor->add_shape(dim);
  };
  for (const runtime::TensorSpec& spec : model.config.inputs) add(spec, out.add_inputs());
  for (const runtime::TensorSpec& spec : model.config.outputs) add(spec, out.add_outputs());
  (*out.mutable_properties())["state"] = VersionStateText(model.state());
  if (!model.ready()) (*out.mutable_properties())["reason"] = model.reason;
}

void EncodeEndpointMetadata(const serving::EndpointDescription& endpoint,
                            inference::ModelMetadataResponse& out) {
  out.set_name(endpoint.name);
  for (int64_t v : endpoint.versions) out.add_versions(std::to_string(v));
  out.set_platform(fmt::format("strata_{}", serving::PlanName(endpoint.plan)));
  const auto add = [](const runtime::TensorSpec& spec, auto* tensor) {
    tensor->set_name(spec.name);
    tensor->set_datatype(std::string(core::DataTypeName(spec.dtype)));
    for (int64_t dim : spec.shape) tensor->add_shape(dim);
  };
  for (const runtime::TensorSpec& spec : endpoint.inputs) add(spec, out.add_inputs());
  for (const runtime::TensorSpec& spec : endpoint.outputs) add(spec, out.add_outputs());
  auto& properties = *out.mutable_properties();
  for (const auto& [key, value] : EndpointProperties(endpoint)) properties[key] = value;
  properties["plan"] = std::string(serving::PlanName(endpoint.plan));
  properties["state"] = VersionStateText(endpoint.ready);
  if (!endpoint.ready) properties["reason"] = endpoint.reason;
}

void EncodeModelConfig(const serving::ServedModel& model, inference::ModelConfig& out) {
  const runtime::ModelConfig& config = model.config;
  out.set_name(model.name);
  out.set_platform(model.platform);
  out.set_backend(config.backend);
  out.set_max_batch_size(static_cast<int32_t>(
      std::min<int64_t>(config.max_batch_size, std::numeric_limits<int32_t>::max())));
  for (const runtime::TensorSpec& spec : config.inputs) {
    inference::ModelInput* input = out.add_input();
    input->set_name(spec.name);
    input->set_data_type(ConfigDataType(spec.dtype));
    SetDims(config, spec.shape, *input->mutable_dims());
  }
  for (const runtime::TensorSpec& spec : config.outputs) {
    inference::ModelOutput* output = out.add_output();
    output->set_name(spec.name);
    output->set_data_type(ConfigDataType(spec.dtype));
    SetDims(config, spec.shape, *output->mutable_dims());
    output->set_label_filename(spec.label_filename);
  }
  const runtime::SchedulingConfig& scheduling = config.scheduling;
  if (scheduling.batching) {
    inference::ModelDynamicBatching* batching = out.mutable_dynamic_batching();
    for (int64_t size : scheduling.preferred_batch_sizes) {
      batching->add_preferred_batch_size(static_cast<int32_t>(size));
    }
    batching->set_max_queue_delay_microseconds(
        static_cast<uint64_t>(std::max<int64_t>(scheduling.max_queue_delay_us, 0)));
    inference::ModelQueuePolicy* policy = batching->mutable_default_queue_policy();
    policy->set_default_timeout_microseconds(
        static_cast<uint64_t>(std::max<int64_t>(scheduling.default_timeout_us, 0)));
    policy->set_max_queue_size(static_cast<uint32_t>(
        std::clamp<int64_t>(scheduling.max_queue_size, 0, std::numeric_limits<uint32_t>::max())));
  }
  for (const auto& [key, value] : config.parameters) {
    (*out.mutable_parameters())[key].set_string_value(value);
  }
}

void EncodeModelStatistics(const serving::ModelStatistics& stats, inference::ModelStatistics& out) {
  const auto set = [](const serving::DurationStat& stat, inference::StatisticDuration* duration) {
    duration->set_count(stat.count);
    duration->set_ns(stat.ns);
  };
  out.set_name(stats.name);
  out.set_version(stats.version);
  out.set_last_inference(stats.last_inference_ms);
  out.set_inference_count(stats.inference_count);
  out.set_execution_count(stats.execution_count);
  inference::InferStatistics* inference = out.mutable_inference_stats();
  set(stats.success, inference->mutable_success());
  set(stats.fail, inference->mutable_fail());
  set(stats.queue, inference->mutable_queue());
  set(stats.compute.input, inference->mutable_compute_input());
  set(stats.compute.infer, inference->mutable_compute_infer());
  set(stats.compute.output, inference->mutable_compute_output());
  for (const auto& [size, stat] : stats.batch_stats) {
    inference::InferBatchStatistics* batch = out.add_batch_stats();
    batch->set_batch_size(static_cast<uint64_t>(size));
    set(stat.input, batch->mutable_compute_input());
    set(stat.infer, batch->mutable_compute_infer());
    set(stat.output, batch->mutable_compute_output());
  }
}

void EncodeRepositoryIndex(const std::vector<serving::VersionStatus>& index, bool ready_only,
                           inference::RepositoryIndexResponse& out) {
  for (const serving::VersionStatus& status : index) {
    if (ready_only && status.state != serving::VersionState::kReady) continue;
    inference::RepositoryIndexResponse::ModelIndex* model = out.add_models();
    model->set_name(status.model);
    model->set_version(status.version);
    model->set_state(std::string(VersionStateText(status.state)));
    model->set_reason(status.reason);
  }
}

absl::Status CheckRepositoryName(const std::string& repository_name) {
  if (repository_name.empty()) return absl::OkStatus();
  return Invalid(
      fmt::format("repository '{}': strata serves one repository; leave repository_name empty",
                  repository_name));
}

absl::Status CheckRepositoryRequest(
    RepositoryAction action, const std::string& repository_name, const std::string& model_name,
    const google::protobuf::Map<std::string, inference::ModelRepositoryParameter>& parameters) {
  STRATA_RETURN_IF_ERROR(CheckRepositoryName(repository_name));
  if (model_name.empty()) return Invalid("the request needs a model_name");
  using P = inference::ModelRepositoryParameter;
  for (const auto& [key, parameter] : parameters) {
    core::ParameterValue value;
    switch (parameter.parameter_choice_case()) {
      case P::kBoolParam:
        value = parameter.bool_param();
        break;
      case P::kInt64Param:
        value = parameter.int64_param();
        break;
      case P::kStringParam:
        value = parameter.string_param();
        break;
      case P::kBytesParam:
        value = parameter.bytes_param();
        break;
      case P::PARAMETER_CHOICE_NOT_SET:
        return Invalid(fmt::format("parameter '{}' has no value", key));
    }
    STRATA_RETURN_IF_ERROR(CheckRepositoryParameter(action, key, value));
  }
  return absl::OkStatus();
}

absl::Status ApplyDeadline(std::chrono::system_clock::time_point deadline,
                           std::chrono::system_clock::time_point now, core::InferRequest& request) {
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::OkStatus();
  }
  const int64_t remaining =
      std::chrono::duration_cast<std::chrono::microseconds>(deadline - now).count();
  if (remaining <= 0) {
    return absl::DeadlineExceededError(fmt::format(
        "the call's deadline passed before model '{}' could run it", request.model_name));
  }
  auto [it, inserted] = request.parameters.try_emplace("timeout", remaining);
  if (!inserted) {
    const int64_t* own = std::get_if<int64_t>(&it->second);
    if (own == nullptr || *own <= 0 || *own > remaining) it->second = remaining;
  }
  return absl::OkStatus();
}

}  // namespace strata::api
