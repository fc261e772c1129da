#include "api/control_json.h"

#include <charconv>

#include "api/version_state_text.h"
#include "fmt/format.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "simdjson.h"

namespace strata::api {
namespace {

using simdjson::dom::element;

absl::StatusOr<element> ParseObject(simdjson::dom::parser& parser, std::string_view body,
                                    std::string_view example) {
  element root;
  if (auto error = parser.parse(body.data(), body.size(), true).get(root)) {
    return absl::InvalidArgumentError(fmt::format("malformed JSON body: {}; expected e.g. {}",
                                                  simdjson::error_message(error), example));
  }
  if (!root.is_object()) {
    return absl::InvalidArgumentError(
        fmt::format("the body must be a JSON object, e.g. {}", example));
  }
  return root;
}

absl::StatusOr<int64_t> VersionOf(element value) {
  if (value.is_null()) return 0;
  if (int64_t v; !value.get_int64().get(v) && v >= 0) return v;
  if (std::string_view s; !value.get_string().get(s)) {
    if (s == "latest") return 0;
    int64_t v = 0;
    auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (err == std::errc() && end == s.data() + s.size() && v >= 0) return v;
  }
  return absl::InvalidArgumentError(
      fmt::format("'version' must be a version number, \"latest\" or null, got {}",
                  simdjson::to_string(value)));
}

}  // namespace

std::string EncodeIndex(const std::vector<serving::VersionStatus>& index, bool ready_only) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartArray();
  for (const serving::VersionStatus& s : index) {
    if (ready_only && s.state != serving::VersionState::kReady) continue;
    w.StartObject();
    w.Key("name");
    w.String(s.model.c_str());
    w.Key("version");
    w.String(s.version.c_str());
    w.Key("state");
    const std::string_view state = VersionStateText(s.state);
    w.String(state.data(), static_cast<rapidjson::SizeType>(state.size()));
    w.Key("reason");
    w.String(s.reason.c_str());
    w.EndObject();
  }
  w.EndArray();
  return {buffer.GetString(), buffer.GetSize()};
}

std::string EncodeTableIndex(const std::vector<serving::TableVersionStatus>& index,
                             bool ready_only) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartArray();
  for (const serving::TableVersionStatus& s : index) {
    if (ready_only && s.state != serving::VersionState::kReady) continue;
    w.StartObject();
    w.Key("name");
    w.String(s.table.c_str());
    w.Key("version");
    const std::string version = s.version == 0 ? "" : std::to_string(s.version);
    w.String(version.c_str());
    w.Key("state");
    const std::string_view state = VersionStateText(s.state);
    w.String(state.data(), static_cast<rapidjson::SizeType>(state.size()));
    w.Key("reason");
    w.String(s.reason.c_str());
    w.Key("labels");
    w.StartArray();
    for (const std::string& label : s.labels) w.String(label.c_str());
    w.EndArray();
    w.Key("default");
    w.Bool(s.is_default);
    w.Key("published");
    w.Bool(s.published);
    w.EndObject();
  }
  w.EndArray();
  return {buffer.GetString(), buffer.GetSize()};
}

absl::StatusOr<bool> DecodeIndexRequest(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return false;
  simdjson::dom::parser parser;
  absl::StatusOr<element> root = ParseObject(parser, body, R"({"ready": true})");
  if (!root.ok()) return root.status();
  element ready;
  if ((*root)["ready"].get(ready)) return false;
  bool value = false;
  if (ready.get_bool().get(value)) {
    return absl::InvalidArgumentError("'ready' must be true or false");
  }
  return value;
}

absl::StatusOr<int64_t> DecodeVersionBody(std::string_view body) {
  simdjson::dom::parser parser;
  absl::StatusOr<element> root = ParseObject(parser, body, R"({"version": 3})");
  if (!root.ok()) return root.status();
  element version;
  if ((*root)["version"].get(version)) {
    return absl::InvalidArgumentError(R"(the body needs "version", e.g. {"version": 3})");
  }
  return VersionOf(version);
}

absl::StatusOr<LabelBody> DecodeLabelBody(std::string_view body) {
  simdjson::dom::parser parser;
  absl::StatusOr<element> root = ParseObject(parser, body, R"({"label": "canary", "version": 4})");
  if (!root.ok()) return root.status();
  LabelBody label;
  std::string_view name;
  if ((*root)["label"].get_string().get(name) || name.empty()) {
    return absl::InvalidArgumentError(
        R"(the body needs "label", e.g. {"label": "canary", "version": 4})");
  }
  label.label = std::string(name);
  element version;
  if ((*root)["version"].get(version)) {
    return absl::InvalidArgumentError(R"(the body needs "version" (null removes the label))");
  }
  absl::StatusOr<int64_t> v = VersionOf(version);
  if (!v.ok()) return v.status();
  label.version = *v;
  return label;
}

absl::Status CheckRepositoryBody(RepositoryAction action, std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return absl::OkStatus();
  simdjson::dom::parser parser;
  absl::StatusOr<element> root = ParseObject(
      parser, body,
      action == RepositoryAction::kLoad ? "{}" : R"({"parameters": {"unload_dependents": false}})");
  if (!root.ok()) return root.status();
  simdjson::dom::object object;
  if (root->get_object().get(object)) {
    return absl::InvalidArgumentError("the body must be a JSON object");
  }
  for (auto [key, value] : object) {
    if (key != "parameters") {
      return absl::InvalidArgumentError(
          fmt::format("unknown key '{}' in the body; it may hold only \"parameters\"", key));
    }
    simdjson::dom::object parameters;
    if (value.get_object().get(parameters)) {
      return absl::InvalidArgumentError("'parameters' must be a JSON object");
    }
    for (auto [name, parameter] : parameters) {
      core::ParameterValue parsed;
      if (bool b; !parameter.get_bool().get(b)) {
        parsed = b;
      } else if (int64_t i; !parameter.get_int64().get(i)) {
        parsed = i;
      } else if (std::string_view text; !parameter.get_string().get(text)) {
        parsed = std::string(text);
      } else if (double d; !parameter.get_double().get(d)) {
        parsed = d;
      } else {
        return absl::InvalidArgumentError(
            fmt::format("parameter '{}' must be a string, number or boolean", name));
      }
      if (absl::Status s = CheckRepositoryParameter(action, name, parsed); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

std::string EncodeMessage(std::string_view message) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("message");
  w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

absl::Status CheckControlName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 256 && name.front() != '.';
  for (char c : name) {
    ok = ok && c != '/' && c != '\\' && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "not a valid model or table name: names cannot be empty, start with '.', or hold '/', "
      "'\\' or control characters");
}

}  // namespace strata::api
