#include "check/malformed_requests.h"

#include "fmt/format.h"
#include "fmt/ranges.h"

namespace strata::check {
namespace {

constexpr std::string_view kJson = "application/json";

std::string TensorJson(const JsonTensor& t) {
  return fmt::format(R"({{"name":"{}","datatype":"{}","shape":[{}],"data":[{}]}})", t.name,
                     t.datatype, fmt::join(t.shape, ","), fmt::join(t.data, ","));
}

std::string RequestJson(const std::vector<JsonTensor>& inputs) {
  std::vector<std::string> parts;
  for (const JsonTensor& t : inputs) parts.push_back(TensorJson(t));
  return fmt::format(R"({{"inputs":[{}]}})", fmt::join(parts, ","));
}

// `inputs` with the first one changed by `change`.
template <typename Change>
std::string WithFirst(std::vector<JsonTensor> inputs, Change change) {
  change(inputs.front());
  return RequestJson(inputs);
}

MalformedRequest Json(std::string name, std::string body) {
  return MalformedRequest{std::move(name), {{"Content-Type", std::string(kJson)}}, std::move(body)};
}

// A binary-tensor request whose header promises more bytes than follow.
MalformedRequest TruncatedBinary(const JsonTensor& first) {
  const std::string header =
      fmt::format(R"({{"inputs":[{{"name":"{}","datatype":"{}","shape":[{}],)"
                  R"("parameters":{{"binary_data_size":4096}}}}]}})",
                  first.name, first.datatype, fmt::join(first.shape, ","));
  return MalformedRequest{"truncated_binary",
                          {{"Content-Type", "application/octet-stream"},
                           {"Inference-Header-Content-Length", std::to_string(header.size())}},
                          header + std::string(16, '\0')};
}

}  // namespace

std::vector<MalformedRequest> MalformedRequests(const std::vector<JsonTensor>& inputs) {
  const JsonTensor& first = inputs.front();
  const std::string other_type = first.datatype == "INT64" ? "FP32" : "INT64";
  std::vector<MalformedRequest> set = {
      Json("bad_json", R"({"inputs": [{"name": )"),
      Json("not_an_object", "[1, 2, 3]"),
      Json("empty_body", ""),
      Json("missing_input", R"({"inputs": []})"),
      Json("unknown_input", WithFirst(inputs, [](JsonTensor& t) { t.name = "no_such_input"; })),
      Json("wrong_datatype", WithFirst(inputs,
                                       [&](JsonTensor& t) {
                                         t.datatype = other_type;
                                         for (double& v : t.data)
                                           v = 1e30;  // not an integer either
                                       })),
      Json("wrong_shape", WithFirst(inputs, [](JsonTensor& t) { t.shape.back() += 1; })),
      Json("non_numeric_data", R"({"inputs":[{"name":")" + first.name + R"(","datatype":")" +
                                   first.datatype + R"(","shape":[1],"data":["x"]}]})"),
      Json("huge_shape", WithFirst(inputs, [](JsonTensor& t) { t.shape.front() = 1LL << 40; })),
      MalformedRequest{"wrong_content_type", {{"Content-Type", "text/plain"}}, "inputs=1"},
      TruncatedBinary(first),
  };
  return set;
}

}  // namespace strata::check
