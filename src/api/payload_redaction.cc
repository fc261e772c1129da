#include "api/payload_redaction.h"

#include <cmath>

#include "core/text_escape.h"
#include "fmt/format.h"
#include "yaml-cpp/yaml.h"

namespace strata::api {
namespace {

// One element as it is hashed (`text`) and as it is kept (`json`).
struct ElementText {
  std::string text;
  std::string json;
};

template <typename Tag>
ElementText NumberText(const core::Tensor& tensor, size_t i) {
  using Element = typename Tag::Element;
  const Element value = tensor.As<Element>()[i];
  if constexpr (Tag::kIsBool) {
    std::string text = value != 0 ? "true" : "false";
    return {text, text};
  } else {
    std::string text = fmt::format("{}", value);
    if constexpr (Tag::kIsFloat) {
      if (!std::isfinite(value)) return {text, core::JsonString(text)};
    }
    return {text, text};
  }
}

// The first `limit` elements of `tensor`; empty when its data is malformed.
std::vector<ElementText> ElementTexts(const core::Tensor& tensor, size_t limit) {
  std::vector<ElementText> texts;
  if (tensor.dtype == core::DataType::kBytes) {
    std::vector<std::string_view> elements;
    if (!core::SplitBytesElements(tensor.data, elements).ok()) return texts;
    for (size_t i = 0; i < elements.size() && i < limit; ++i) {
      texts.push_back({std::string(elements[i]), core::JsonString(elements[i])});
    }
    return texts;
  }
  const size_t count = tensor.data.size() / core::ElementSize(tensor.dtype);
  for (size_t i = 0; i < count && i < limit; ++i) {
    texts.push_back(core::VisitDataType(tensor.dtype, [&](auto tag) -> ElementText {
      using Tag = decltype(tag);
      if constexpr (Tag::kIsBytes) {
        return {};
      } else {
        return NumberText<Tag>(tensor, i);
      }
    }));
  }
  return texts;
}

size_t ElementCount(const core::Tensor& tensor) {
  size_t count = 1;
  for (int64_t dim : tensor.shape) count *= static_cast<size_t>(std::max<int64_t>(dim, 0));
  return count;
}

void AppendField(const core::Tensor& tensor, FieldAction action, const FieldHasher& hasher,
                 std::string& out) {
  core::AppendJsonString(tensor.name, out);
  out += ":{\"datatype\":";
  core::AppendJsonString(core::DataTypeName(tensor.dtype), out);
  out += ",\"shape\":[";
  for (size_t i = 0; i < tensor.shape.size(); ++i) {
    out += (i ? "," : "") + std::to_string(tensor.shape[i]);
  }
  out += action == FieldAction::kKeep ? "],\"data\":[" : "],\"hash\":[";
  const std::vector<ElementText> texts = ElementTexts(tensor, kMaxLoggedElements);
  for (size_t i = 0; i < texts.size(); ++i) {
    if (i) out += ',';
    if (action == FieldAction::kKeep) {
      out += texts[i].json;
    } else {
      core::AppendJsonString(hasher(texts[i].text), out);
    }
  }
  out += ']';
  if (ElementCount(tensor) > texts.size()) out += ",\"truncated\":true";
  out += '}';
}

absl::StatusOr<FieldActions> ParseActions(const YAML::Node& node, std::string_view section) {
  FieldActions actions;
  if (!node) return actions;
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(
        fmt::format("payload policy: '{}' must map field names to drop, hash or keep", section));
  }
  for (const auto& entry : node) {
    const std::string name = entry.first.as<std::string>();
    const std::string value = entry.second.IsScalar() ? entry.second.as<std::string>() : "";
    if (value == "drop") {
      actions[name] = FieldAction::kDrop;
    } else if (value == "hash") {
      actions[name] = FieldAction::kHash;
    } else if (value == "keep") {
      actions[name] = FieldAction::kKeep;
    } else {
      return absl::InvalidArgumentError(fmt::format(
          "payload policy: {} field '{}': '{}' is not drop, hash or keep", section, name, value));
    }
  }
  return actions;
}

}  // namespace

std::string_view FieldActionName(FieldAction action) {
  switch (action) {
    case FieldAction::kDrop:
      return "drop";
    case FieldAction::kHash:
      return "hash";
    case FieldAction::kKeep:
      return "keep";
  }
  return "drop";
}

FieldAction ActionOf(const FieldActions& actions, std::string_view name) {
  auto found = actions.find(name);
  return found == actions.end() ? FieldAction::kDrop : found->second;
}

absl::StatusOr<RedactionPolicy> ParseRedactionPolicy(std::string_view yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(fmt::format("payload policy: {}", e.what()));
  }
  if (root.IsNull()) return RedactionPolicy{};
  if (!root.IsMap()) {
    return absl::InvalidArgumentError("payload policy: expected a map with inputs and outputs");
  }
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    if (key != "inputs" && key != "outputs") {
      return absl::InvalidArgumentError(
          fmt::format("payload policy: unknown section '{}' (inputs, outputs)", key));
    }
  }
  RedactionPolicy policy;
  absl::StatusOr<FieldActions> inputs = ParseActions(root["inputs"], "inputs");
  if (!inputs.ok()) return inputs.status();
  absl::StatusOr<FieldActions> outputs = ParseActions(root["outputs"], "outputs");
  if (!outputs.ok()) return outputs.status();
  policy.inputs = *std::move(inputs);
  policy.outputs = *std::move(outputs);
  return policy;
}

RedactedFields RedactTensors(const std::vector<core::Tensor>& tensors, const FieldActions& actions,
                             const FieldHasher& hasher) {
  RedactedFields redacted;
  redacted.json = "{";
  bool first = true;
  for (const core::Tensor& tensor : tensors) {
    const FieldAction action = ActionOf(actions, tensor.name);
    if (action == FieldAction::kDrop || (action == FieldAction::kHash && !hasher)) {
      redacted.dropped.push_back(tensor.name);
      continue;
    }
    if (!first) redacted.json += ',';
    first = false;
    AppendField(tensor, action, hasher, redacted.json);
  }
  redacted.json += '}';
  return redacted;
}

}  // namespace strata::api
