#include "api/binary_tensor_codec.h"

#include <charconv>

#include "api/kserve_json_codec.h"
#include "fmt/format.h"

namespace strata::api {
namespace {

// A bool parameter's value; nullopt when absent or not a bool (the JSON
// codec has already rejected non-bools).
std::optional<bool> BoolParameter(const core::Parameters& parameters, std::string_view key) {
  auto it = parameters.find(key);
  if (it == parameters.end()) return std::nullopt;
  if (const bool* value = std::get_if<bool>(&it->second)) return *value;
  return std::nullopt;
}

}  // namespace

absl::StatusOr<core::InferRequest> DecodeBinaryInferRequest(std::string_view body,
                                                            std::string_view header_length) {
  size_t length = 0;
  const char* end = header_length.data() + header_length.size();
  auto [parsed_end, error] = std::from_chars(header_length.data(), end, length);
  if (header_length.empty() || error != std::errc() || parsed_end != end) {
    return absl::InvalidArgumentError(
        fmt::format("Inference-Header-Content-Length '{}' is not a byte count", header_length));
  }
  if (length > body.size()) {
    return absl::InvalidArgumentError(
        fmt::format("Inference-Header-Content-Length is {} but the body has only {} bytes", length,
                    body.size()));
  }
  return DecodeInferRequest(body.substr(0, length), body.substr(length));
}

BinaryOutputSelection BinaryOutputSelection::Of(const core::InferRequest& request) {
  BinaryOutputSelection selection;
  selection.by_default = BoolParameter(request.parameters, "binary_data_output").value_or(false);
  for (const core::RequestedOutput& output : request.outputs) {
    if (std::optional<bool> binary = BoolParameter(output.parameters, "binary_data")) {
      selection.by_name.emplace(output.name, *binary);
    }
  }
  return selection;
}

std::vector<bool> BinaryOutputSelection::Flags(const core::InferResponse& response) const {
  std::vector<bool> flags;
  flags.reserve(response.outputs.size());
  for (const core::Tensor& output : response.outputs) {
    auto it = by_name.find(output.name);
    flags.push_back(it != by_name.end() ? it->second : by_default);
  }
  return flags;
}

EncodedInferResponse EncodeBinaryInferResponse(const core::InferResponse& response,
                                               const BinaryOutputSelection& selection) {
  EncodedInferResponse encoded;
  if (!selection.by_default && selection.by_name.empty()) {  // all JSON: no flags to make
    encoded.body = EncodeInferResponse(response);
    encoded.json_size = encoded.body.size();
    return encoded;
  }
  const std::vector<bool> flags = selection.Flags(response);
  encoded.body = EncodeInferResponse(response, flags);
  encoded.json_size = encoded.body.size();
  size_t blobs = 0;
  for (size_t i = 0; i < flags.size(); ++i) {
    if (flags[i]) blobs += response.outputs[i].data.size();
  }
  encoded.body.reserve(encoded.json_size + blobs);
  for (size_t i = 0; i < flags.size(); ++i) {
    if (!flags[i]) continue;
    encoded.has_blobs = true;
    const std::vector<uint8_t>& data = response.outputs[i].data;
    encoded.body.append(reinterpret_cast<const char*>(data.data()), data.size());
  }
  return encoded;
}

}  // namespace strata::api
