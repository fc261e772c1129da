// A tensor as a check reads it from KServe v2 JSON: name, datatype, shape
// and numeric data (flattened, as doubles). Pure parsing; thread-safe.
#ifndef STRATA_CHECK_JSON_TENSOR_H_
#define STRATA_CHECK_JSON_TENSOR_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace strata::check {

struct JsonTensor {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;
  std::vector<double> data;  // flat, row-major; BOOL as 0 and 1
};

// The tensors under `key` ("inputs" or "outputs") of a JSON object body.
// Error when the body is not JSON, the key is missing, or a tensor's data is
// not numeric (BYTES is not compared).
absl::StatusOr<std::vector<JsonTensor>> ParseTensors(std::string_view body, std::string_view key);

// The elements of one row: the product of the shape after the first
// dimension (1 for a one-dimensional tensor).
int64_t ElementsPerRow(const JsonTensor& tensor);

}  // namespace strata::check

#endif  // STRATA_CHECK_JSON_TENSOR_H_
