#include "api/model_config_json.h"

#include "api/json_writing.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace strata::api {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

template <typename Dims>
void WriteDims(Writer& w, const Dims& dims) {
  w.Key("dims");
  w.StartArray();
  for (int64_t dim : dims) w.Int64(dim);
  w.EndArray();
}

void WriteDynamicBatching(Writer& w, const inference::ModelDynamicBatching& batching) {
  w.Key("dynamic_batching");
  w.StartObject();
  w.Key("preferred_batch_size");
  w.StartArray();
  for (int32_t size : batching.preferred_batch_size()) w.Int(size);
  w.EndArray();
  w.Key("max_queue_delay_microseconds");
  w.Uint64(batching.max_queue_delay_microseconds());
  if (batching.has_default_queue_policy()) {
    const inference::ModelQueuePolicy& policy = batching.default_queue_policy();
    w.Key("default_queue_policy");
    w.StartObject();
    w.Key("default_timeout_microseconds");
    w.Uint64(policy.default_timeout_microseconds());
    w.Key("max_queue_size");
    w.Uint(policy.max_queue_size());
    w.EndObject();
  }
  w.EndObject();
}

}  // namespace

std::string ModelConfigToJson(const inference::ModelConfig& config) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("name");
  WriteString(w, config.name());
  w.Key("platform");
  WriteString(w, config.platform());
  w.Key("backend");
  WriteString(w, config.backend());
  w.Key("max_batch_size");
  w.Int(config.max_batch_size());
  w.Key("input");
  w.StartArray();
  for (const inference::ModelInput& input : config.input()) {
    w.StartObject();
    w.Key("name");
    WriteString(w, input.name());
    w.Key("data_type");
    WriteString(w, inference::DataType_Name(input.data_type()));
    WriteDims(w, input.dims());
    w.Key("optional");
    w.Bool(input.optional());
    w.EndObject();
  }
  w.EndArray();
  w.Key("output");
  w.StartArray();
  for (const inference::ModelOutput& output : config.output()) {
    w.StartObject();
    w.Key("name");
    WriteString(w, output.name());
    w.Key("data_type");
    WriteString(w, inference::DataType_Name(output.data_type()));
    WriteDims(w, output.dims());
    if (!output.label_filename().empty()) {
      w.Key("label_filename");
      WriteString(w, output.label_filename());
    }
    w.EndObject();
  }
  w.EndArray();
  if (config.has_dynamic_batching()) WriteDynamicBatching(w, config.dynamic_batching());
  w.Key("parameters");
  w.StartObject();
  for (const auto& [key, value] : config.parameters()) {
    WriteString(w, key);
    w.StartObject();
    w.Key("string_value");
    WriteString(w, value.string_value());
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace strata::api
