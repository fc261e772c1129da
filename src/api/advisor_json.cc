#include "api/advisor_json.h"

#include <algorithm>
#include <cmath>

#include "api/json_writing.h"
#include "core/fingerprint.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace strata::api {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Finite numbers only: JSON has no NaN or infinity.
void WriteNumber(Writer& w, double v) { w.Double(std::isfinite(v) ? v : 0.0); }

void WriteSummaryFields(Writer& w, const LiveWorkloadView& view) {
  const advisor::WorkloadStats& s = *view.stats;
  w.Key("endpoint");
  WriteString(w, view.snapshot->endpoint);
  w.Key("seconds");
  WriteNumber(w, view.snapshot->seconds);
  w.Key("requests");
  w.Uint64(s.requests);
  w.Key("requests_per_second");
  WriteNumber(w, s.requests_per_second);
  w.Key("distinct_keys");
  WriteNumber(w, std::round(s.distinct_keys));
  w.Key("distinct_exact");
  w.Bool(s.distinct_exact);
  w.Key("entropy_bits");
  WriteNumber(w, s.entropy_bits);
  w.Key("peakedness");
  WriteNumber(w, s.peakedness);
  w.Key("unseen_share");
  WriteNumber(w, s.unseen_share);
  w.Key("hashed_keys");
  w.Bool(view.snapshot->hashed_keys);
  w.Key("sketch_bytes");
  w.Uint64(view.sketch_bytes);
  w.Key("figures");
  w.StartObject();
  for (const auto& [name, value] : view.snapshot->figures) {
    w.Key(name.c_str());
    WriteNumber(w, value);
  }
  w.EndObject();
}

}  // namespace

std::string EncodeLiveWorkload(const LiveWorkloadView& view, size_t top) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  WriteSummaryFields(w, view);
  const advisor::WorkloadStats& s = *view.stats;
  w.Key("top");
  w.StartArray();
  for (size_t i = 0; i < std::min(top, s.top.size()); ++i) {
    const advisor::HeavyHitter& h = s.top[i];
    w.StartObject();
    w.Key("key");
    // Keys are the JSON text of the row's key columns (serving/row_keys.h),
    // or a long key's fingerprint marker (a JSON string); anything else is
    // written as a string.
    if (!h.key.empty() && h.key.front() == '{' && h.key.back() == '}') {
      w.RawValue(h.key.data(), h.key.size(), rapidjson::kObjectType);
    } else if (core::IsKeyFingerprintMarker(h.key)) {
      w.RawValue(h.key.data(), h.key.size(), rapidjson::kStringType);
    } else {
      WriteString(w, h.key);
    }
    w.Key("count");
    w.Uint64(h.count);
    w.Key("error");
    w.Uint64(h.error);
    w.EndObject();
  }
  w.EndArray();
  w.Key("coverage");
  w.StartArray();
  const double total = std::max(1.0, std::round(s.distinct_keys));
  for (double k = 1;; k *= 10) {
    const double at = std::min(k, total);
    w.StartObject();
    w.Key("keys");
    WriteNumber(w, at);
    w.Key("share");
    WriteNumber(w, s.coverage.ShareAt(at));
    w.Key("expected");
    WriteNumber(w, s.expected_coverage.ShareAt(at));
    w.EndObject();
    if (at >= total) break;
  }
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

std::string EncodeLiveWorkloadIndex(const std::vector<LiveWorkloadView>& views) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("endpoints");
  w.StartArray();
  for (const LiveWorkloadView& view : views) {
    w.StartObject();
    WriteSummaryFields(w, view);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

}  // namespace strata::api
