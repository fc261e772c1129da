#include "check/sample_set.h"

#include "fmt/format.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace strata::check {
namespace {

std::string ToJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

absl::StatusOr<Sample> ParseSample(const rapidjson::Value& v, size_t index) {
  if (!v.IsObject() || !v.HasMember("request") || !v["request"].IsObject() ||
      !v.HasMember("expected") || !v["expected"].IsObject()) {
    return absl::InvalidArgumentError(
        fmt::format("sample {} needs a \"request\" object and an \"expected\" object", index));
  }
  Sample sample;
  sample.request_body = ToJson(v["request"]);
  absl::StatusOr<std::vector<JsonTensor>> inputs = ParseTensors(sample.request_body, "inputs");
  absl::StatusOr<std::vector<JsonTensor>> expected = ParseTensors(ToJson(v["expected"]), "outputs");
  if (!inputs.ok() || !expected.ok()) {
    const absl::Status& s = inputs.ok() ? expected.status() : inputs.status();
    return absl::InvalidArgumentError(
        fmt::format("sample {}: {}", index, std::string(s.message())));
  }
  if (inputs->empty() || expected->empty()) {
    return absl::InvalidArgumentError(
        fmt::format("sample {} needs at least one input and one expected output", index));
  }
  sample.inputs = *std::move(inputs);
  sample.expected = *std::move(expected);
  return sample;
}

}  // namespace

absl::StatusOr<SampleSet> ParseSampleSet(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::InvalidArgumentError("a samples file must be one JSON object");
  }
  SampleSet set;
  if (doc.HasMember("tolerance")) {
    if (!doc["tolerance"].IsNumber() || doc["tolerance"].GetDouble() < 0) {
      return absl::InvalidArgumentError("\"tolerance\" must be a number >= 0");
    }
    set.tolerance = doc["tolerance"].GetDouble();
  }
  if (doc.HasMember("samples")) {
    if (!doc["samples"].IsArray() || doc["samples"].Empty()) {
      return absl::InvalidArgumentError("\"samples\" must be a non-empty array");
    }
    for (const auto& v : doc["samples"].GetArray()) {
      absl::StatusOr<Sample> sample = ParseSample(v, set.samples.size());
      if (!sample.ok()) return sample.status();
      set.samples.push_back(*std::move(sample));
    }
    return set;
  }
  absl::StatusOr<Sample> sample = ParseSample(doc, 0);
  if (!sample.ok()) return sample.status();
  set.samples.push_back(*std::move(sample));
  return set;
}

}  // namespace strata::check
