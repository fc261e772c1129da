#include "api/endpoint_json.h"

#include "api/json_writing.h"
#include "api/version_state_text.h"
#include "fmt/format.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace strata::api {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

namespace {

void TableProperties(const serving::EndpointTable& t, bool static_plan,
                     std::map<std::string, std::string>& p) {
  p["table"] = t.name;
  if (static_plan) p["store"] = t.store;
  if (t.version == 0) return;
  p["table_version"] = std::to_string(t.version);
  p["table_rows"] = std::to_string(t.rows);
  p["bytes_per_entry"] = fmt::format("{:.0f}", t.bytes_per_entry);
  if (t.in_memory_bytes) p["in_memory_bytes"] = std::to_string(*t.in_memory_bytes);
  if (!t.refused.empty()) p["refused"] = t.refused;
  if (!static_plan) p["table_model"] = fmt::format("{}:{}", t.model, t.model_version);
}

void CacheProperties(const serving::EndpointCache& c, std::map<std::string, std::string>& p) {
  p["cache_max_bytes"] = std::to_string(c.max_bytes);
  if (c.keyed_by_row_inputs) p["cache_key"] = "row inputs";
  if (c.max_bytes == 0) return;
  p["cache_hits"] = std::to_string(c.stats.hits);
  p["cache_misses"] = std::to_string(c.stats.misses);
  p["cache_entries"] = std::to_string(c.stats.entries);
  p["cache_bytes"] = std::to_string(c.stats.bytes);
}

}  // namespace

std::map<std::string, std::string> EndpointProperties(
    const serving::EndpointDescription& endpoint) {
  std::map<std::string, std::string> p;
  const bool static_plan = endpoint.plan == serving::PlanKind::kStatic;
  if (!endpoint.model.empty()) p["model"] = endpoint.model;
  if (endpoint.model_version) p["model_version"] = std::to_string(*endpoint.model_version);
  if (endpoint.table) TableProperties(*endpoint.table, static_plan, p);
  if (!endpoint.table_reason.empty() ||
      (endpoint.table && endpoint.table->version == 0 && !static_plan)) {
    p["table_reason"] = endpoint.table_reason;
  }
  if (endpoint.cache) CacheProperties(*endpoint.cache, p);
  return p;
}

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
  WriteString(w, fmt::format("strata_{}", serving::PlanName(endpoint.plan)));
  w.Key("inputs");
  WriteTensorSpecs(w, endpoint.inputs);
  w.Key("outputs");
  WriteTensorSpecs(w, endpoint.outputs);
  w.Key("plan");
  WriteString(w, std::string(serving::PlanName(endpoint.plan)));
  w.Key("state");
  WriteString(w, VersionStateText(endpoint.ready));
  if (!endpoint.ready) {
    w.Key("reason");
    WriteString(w, endpoint.reason);
  }
  w.Key("properties");
  w.StartObject();
  for (const auto& [key, value] : EndpointProperties(endpoint)) {
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
