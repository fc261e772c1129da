// RapidJSON writing helpers shared by the api module's hand-written
// encoders (KServe v2 bodies, endpoint metadata, advisor views, Triton model
// config). Templates over the writer type, since the encoders use writers
// with different flags. Header-only; thread-safe.
#ifndef STRATA_API_JSON_WRITING_H_
#define STRATA_API_JSON_WRITING_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/datatype.h"
#include "rapidjson/rapidjson.h"
#include "runtime/model_config.h"

namespace strata::api {

template <typename Writer>
void WriteString(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// [{"name": ..., "datatype": ..., "shape": [...]}, ...], as KServe v2
// metadata lists inputs and outputs.
template <typename Writer>
void WriteTensorSpecs(Writer& w, const std::vector<runtime::TensorSpec>& specs) {
  w.StartArray();
  for (const runtime::TensorSpec& spec : specs) {
    w.StartObject();
    w.Key("name");
    WriteString(w, spec.name);
    w.Key("datatype");
    WriteString(w, core::DataTypeName(spec.dtype));
    w.Key("shape");
    w.StartArray();
    for (int64_t dim : spec.shape) w.Int64(dim);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace strata::api

#endif  // STRATA_API_JSON_WRITING_H_
