#include "api/endpoint_json.h"

#include "api/json_writing.h"
#include "api/version_state_text.h"
#include "fmt/format.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace strata::api {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

std::string EncodeEndpointMetadata(const serving::EndpointDescription& endpoint) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("name");
  WriteString(w, endpoint.name);
  w.Key("versions");
  w.StartArray();
  for (int64_t v : endpoint.versions) WriteString(w, std::to_string(v));
  w.EndArray();
  w.Key("platform");
  WriteString(w, "strata_" + endpoint.plan);
  w.Key("inputs");
  WriteTensorSpecs(w, endpoint.inputs);
  w.Key("outputs");
  WriteTensorSpecs(w, endpoint.outputs);
  w.Key("plan");
  WriteString(w, endpoint.plan);
  w.Key("state");
  WriteString(w, VersionStateText(endpoint.ready));
  if (!endpoint.ready) {
    w.Key("reason");
    WriteString(w, endpoint.reason);
  }
  w.Key("properties");
  w.StartObject();
  for (const auto& [key, value] : endpoint.properties) {
    WriteString(w, key);
    WriteString(w, value);
  }
  w.EndObject();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::string EncodeEndpointReady(const serving::EndpointDescription& endpoint) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("name");
  WriteString(w, endpoint.name);
  w.Key("ready");
  w.Bool(endpoint.ready);
  if (!endpoint.ready) {
    w.Key("reason");
    WriteString(w, endpoint.reason);
    w.Key("error");
    WriteString(w, fmt::format("endpoint '{}' is not ready: {}", endpoint.name, endpoint.reason));
  }
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace strata::api
