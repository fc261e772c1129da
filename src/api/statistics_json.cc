#include "api/statistics_json.h"

#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace strata::api {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteStat(Writer& w, const char* key, const serving::DurationStat& stat) {
  w.Key(key);
  w.StartObject();
  w.Key("count");
  w.Uint64(stat.count);
  w.Key("ns");
  w.Uint64(stat.ns);
  w.EndObject();
}

}  // namespace

std::string EncodeStatistics(const std::vector<serving::ModelStatistics>& stats) {
  const serving::DurationStat none;
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("model_stats");
  w.StartArray();
  for (const serving::ModelStatistics& s : stats) {
    w.StartObject();
    w.Key("name");
    w.String(s.name.c_str());
    w.Key("version");
    w.String(s.version.c_str());
    w.Key("last_inference");
    w.Uint64(s.last_inference_ms);
    w.Key("inference_count");
    w.Uint64(s.inference_count);
    w.Key("execution_count");
    w.Uint64(s.execution_count);
    w.Key("inference_stats");
    w.StartObject();
    WriteStat(w, "success", s.success);
    WriteStat(w, "fail", s.fail);
    WriteStat(w, "queue", s.queue);
    WriteStat(w, "compute_input", s.compute.input);
    WriteStat(w, "compute_infer", s.compute.infer);
    WriteStat(w, "compute_output", s.compute.output);
    WriteStat(w, "cache_hit", none);
    WriteStat(w, "cache_miss", none);
    w.EndObject();
    w.Key("batch_stats");
    w.StartArray();
    for (const auto& [size, stat] : s.batch_stats) {
      w.StartObject();
      w.Key("batch_size");
      w.Int64(size);
      WriteStat(w, "compute_input", stat.input);
      WriteStat(w, "compute_infer", stat.infer);
      WriteStat(w, "compute_output", stat.output);
      w.EndObject();
    }
    w.EndArray();
    if (s.adaptive) {
      w.Key("adaptive_batching");
      w.StartObject();
      w.Key("max_batch_size");
      w.Int64(s.adaptive->max_batch_size);
      w.Key("max_queue_delay_us");
      w.Uint64(s.adaptive->max_queue_delay_us);
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace strata::api
