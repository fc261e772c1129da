#include "api/rollout_json.h"

#include "api/http_status.h"
#include "api/json_writing.h"
#include "api/kserve_json_codec.h"
#include "fmt/format.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "simdjson.h"

namespace strata::api {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr std::string_view kExample = R"({"candidate": "churn@3", "steps": "5:60s:200,100"})";

absl::Status Malformed(std::string_view why) {
  return absl::InvalidArgumentError(fmt::format("{}; expected e.g. {}", why, kExample));
}

void WriteWindow(Writer& w, const char* key, const serving::ArmWindowStats& window) {
  w.Key(key);
  w.StartObject();
  w.Key("requests");
  w.Int64(window.requests);
  w.Key("errors");
  w.Int64(window.errors);
  w.EndObject();
}

void WriteGates(Writer& w, const serving::RolloutView& view) {
  w.Key("gates");
  w.StartArray();
  if (view.last) {
    for (const serving::GateResult& gate : view.last->gates) {
      w.StartObject();
      w.Key("gate");
      WriteString(w, serving::GateName(gate.gate));
      w.Key("verdict");
      WriteString(w, serving::GateVerdictName(gate.verdict));
      w.Key("detail");
      WriteString(w, gate.detail);
      w.EndObject();
    }
  }
  w.EndArray();
}

void WriteHistory(Writer& w, const serving::RolloutState& state) {
  w.Key("history");
  w.StartArray();
  for (const serving::RolloutEvent& event : state.history) {
    w.StartObject();
    w.Key("unix_ms");
    w.Int64(event.unix_ms);
    w.Key("what");
    WriteString(w, event.what);
    w.EndObject();
  }
  w.EndArray();
}

RolloutAnswer Answer(const absl::StatusOr<serving::RolloutView>& view) {
  if (!view.ok()) {
    return {HttpStatusFromCode(view.status().code()),
            EncodeError(std::string(view.status().message()))};
  }
  return {200, EncodeRolloutView(*view)};
}

}  // namespace

absl::StatusOr<serving::RolloutRequest> DecodeRolloutRequest(std::string_view body,
                                                             std::string endpoint) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size(), true).get(root) || !root.is_object()) {
    return Malformed("the body must be a JSON object");
  }
  serving::RolloutRequest request;
  request.endpoint = std::move(endpoint);
  for (const auto [key, value] : root.get_object()) {
    std::string_view text;
    if (key == "gates") {
      simdjson::dom::array gates;
      if (value.get_array().get(gates)) return Malformed("'gates' must be an array of strings");
      for (simdjson::dom::element gate : gates) {
        if (gate.get_string().get(text)) return Malformed("'gates' must be an array of strings");
        request.gates.emplace_back(text);
      }
      continue;
    }
    if (value.get_string().get(text)) return Malformed(fmt::format("'{}' must be a string", key));
    if (key == "candidate") {
      request.candidate = text;
    } else if (key == "steps") {
      request.steps = text;
    } else if (key == "load_timeout") {
      request.load_timeout = text;
    } else {
      return Malformed(fmt::format("unknown field '{}'", key));
    }
  }
  if (request.candidate.empty()) return Malformed("'candidate' is required");
  return request;
}

std::string EncodeRolloutView(const serving::RolloutView& view) {
  const serving::RolloutState& s = view.state;
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("endpoint");
  WriteString(w, s.spec.endpoint);
  w.Key("candidate");
  WriteString(w, s.spec.candidate.model + "@" + s.spec.candidate.version);
  w.Key("stable");
  WriteString(w, s.stable.model + "@" + s.stable.version);
  w.Key("status");
  WriteString(w, serving::RolloutStatusName(s.status));
  w.Key("reason");
  WriteString(w, s.reason);
  w.Key("step");
  w.Uint64(s.step + 1);
  w.Key("steps");
  WriteString(w, s.spec.steps_text);
  w.Key("weight");
  w.Double(view.weight);
  WriteWindow(w, "stable_window", view.stable_window);
  WriteWindow(w, "candidate_window", view.candidate_window);
  WriteGates(w, view);
  w.Key("rollbacks");
  w.Int64(view.rollbacks);
  WriteHistory(w, s);
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

RolloutAnswer AnswerRolloutRoute(serving::RolloutControl& rollouts, std::string_view method,
                                 const std::vector<std::string>& segments, std::string_view body) {
  if (segments.size() < 5 || segments.size() > 6 || segments[4] != "rollout") {
    return {404, EncodeError("no such route; use /v2/repository/endpoints/{endpoint}/rollout/"
                             "{start|status|pause|resume|abort|promote}")};
  }
  const std::string& endpoint = segments[3];
  const std::string action = segments.size() == 6 ? segments[5] : "status";
  if (action == "status") return Answer(rollouts.Status(endpoint));
  if (method != "POST") return {405, EncodeError(fmt::format("rollout {} needs POST", action))};
  if (action == "start") {
    absl::StatusOr<serving::RolloutRequest> request = DecodeRolloutRequest(body, endpoint);
    if (!request.ok()) return Answer(request.status());
    return Answer(rollouts.Start(*request));
  }
  static constexpr std::pair<std::string_view, serving::RolloutAction> kActions[] = {
      {"pause", serving::RolloutAction::kPause},
      {"resume", serving::RolloutAction::kResume},
      {"abort", serving::RolloutAction::kAbort},
      {"promote", serving::RolloutAction::kPromote}};
  for (const auto& [name, value] : kActions) {
    if (action == name) return Answer(rollouts.Act(endpoint, value));
  }
  return {404, EncodeError(fmt::format("no such rollout action '{}'; use start, status, pause, "
                                       "resume, abort or promote",
                                       action))};
}

}  // namespace strata::api
