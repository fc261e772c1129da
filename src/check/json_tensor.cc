#include "check/json_tensor.h"

#include "fmt/format.h"
#include "rapidjson/document.h"

namespace strata::check {
namespace {

// Appends `value`'s numbers (nested arrays flattened) to `out`.
absl::Status Flatten(const rapidjson::Value& value, const std::string& name,
                     std::vector<double>& out) {
  if (value.IsArray()) {
    for (const auto& element : value.GetArray()) {
      if (absl::Status s = Flatten(element, name, out); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  if (value.IsNumber()) {
    out.push_back(value.GetDouble());
  } else if (value.IsBool()) {
    out.push_back(value.GetBool() ? 1 : 0);
  } else {
    return absl::InvalidArgumentError(
        fmt::format("tensor '{}' has non-numeric data, which a check cannot compare", name));
  }
  return absl::OkStatus();
}

absl::StatusOr<JsonTensor> ParseTensor(const rapidjson::Value& t) {
  if (!t.IsObject() || !t.HasMember("name") || !t["name"].IsString()) {
    return absl::InvalidArgumentError("a tensor must be an object with a \"name\"");
  }
  JsonTensor tensor;
  tensor.name = t["name"].GetString();
  if (t.HasMember("datatype") && t["datatype"].IsString())
    tensor.datatype = t["datatype"].GetString();
  if (!t.HasMember("shape") || !t["shape"].IsArray()) {
    return absl::InvalidArgumentError(fmt::format("tensor '{}' has no \"shape\"", tensor.name));
  }
  for (const auto& d : t["shape"].GetArray()) {
    if (!d.IsInt64()) {
      return absl::InvalidArgumentError(fmt::format("tensor '{}' has a bad shape", tensor.name));
    }
    tensor.shape.push_back(d.GetInt64());
  }
  if (!t.HasMember("data")) {
    return absl::InvalidArgumentError(fmt::format("tensor '{}' has no \"data\"", tensor.name));
  }
  if (absl::Status s = Flatten(t["data"], tensor.name, tensor.data); !s.ok()) return s;
  return tensor;
}

}  // namespace

absl::StatusOr<std::vector<JsonTensor>> ParseTensors(std::string_view body, std::string_view key) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::InvalidArgumentError("the body is not a JSON object");
  }
  const std::string member(key);
  if (!doc.HasMember(member.c_str()) || !doc[member.c_str()].IsArray()) {
    return absl::InvalidArgumentError(fmt::format("the body has no \"{}\" array", key));
  }
  std::vector<JsonTensor> tensors;
  for (const auto& t : doc[member.c_str()].GetArray()) {
    absl::StatusOr<JsonTensor> tensor = ParseTensor(t);
    if (!tensor.ok()) return tensor.status();
    tensors.push_back(*std::move(tensor));
  }
  return tensors;
}

int64_t ElementsPerRow(const JsonTensor& tensor) {
  int64_t n = 1;
  for (size_t i = 1; i < tensor.shape.size(); ++i) n *= tensor.shape[i];
  return n;
}

}  // namespace strata::check
