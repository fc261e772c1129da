#include "api/warmup_file.h"

#include <fstream>
#include <sstream>

#include "api/kserve_json_codec.h"
#include "fmt/format.h"
#include "simdjson.h"

namespace strata::api {

absl::StatusOr<std::vector<core::InferRequest>> ReadWarmupFile(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    return absl::NotFoundError(fmt::format("cannot read warm-up file {}", file.string()));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  auto fail = [&](const absl::Status& s) {
    return absl::InvalidArgumentError(
        fmt::format("warm-up file {}: {}", file.string(), std::string(s.message())));
  };

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (!parser.parse(text).get(root) && root.is_object()) {
    simdjson::dom::element request;
    const std::string body = root["request"].get(request) ? text : simdjson::to_string(request);
    absl::StatusOr<core::InferRequest> decoded = DecodeInferRequest(body);
    if (!decoded.ok()) return fail(decoded.status());
    return std::vector<core::InferRequest>{*std::move(decoded)};
  }
  std::vector<core::InferRequest> requests;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    absl::StatusOr<core::InferRequest> decoded = DecodeInferRequest(line);
    if (!decoded.ok()) {
      return fail(absl::InvalidArgumentError(fmt::format("line {}: {}", requests.size() + 1,
                                                         std::string(decoded.status().message()))));
    }
    requests.push_back(*std::move(decoded));
  }
  return requests;
}

}  // namespace strata::api
