#include "advisor/workload_snapshot.h"

#include "advisor/byte_codec.h"

namespace strata::advisor {
namespace {
constexpr std::string_view kMagic = "STRATA-SNAPSHOT-1";
}  // namespace

std::string WorkloadSnapshot::Encode() const {
  ByteWriter out;
  out.Bytes(kMagic);
  out.Bytes(endpoint);
  out.F64(seconds);
  out.U64(figures.size());
  for (const auto& [name, value] : figures) {
    out.Bytes(name);
    out.F64(value);
  }
  out.Bytes(sketch.Encode());
  return std::move(out.str());
}

absl::StatusOr<WorkloadSnapshot> WorkloadSnapshot::Decode(std::string_view bytes) {
  ByteReader in(bytes);
  WorkloadSnapshot snapshot;
  std::string magic, sketch;
  uint64_t count;
  if (!in.Bytes(magic, kMagic.size()) || magic != kMagic) {
    return absl::InvalidArgumentError("not a strata workload snapshot");
  }
  if (!in.Bytes(snapshot.endpoint, 1 << 10) || !in.F64(snapshot.seconds) || !in.U64(count) ||
      count > 64) {
    return absl::InvalidArgumentError("malformed workload snapshot header");
  }
  for (uint64_t i = 0; i < count; ++i) {
    std::string name;
    double value;
    if (!in.Bytes(name, 256) || !in.F64(value)) {
      return absl::InvalidArgumentError("malformed workload snapshot figures");
    }
    snapshot.figures[name] = value;
  }
  if (!in.Bytes(sketch, bytes.size()) || !in.empty()) {
    return absl::InvalidArgumentError("malformed workload snapshot");
  }
  absl::StatusOr<WorkloadSketch> decoded = WorkloadSketch::Decode(sketch);
  if (!decoded.ok()) return decoded.status();
  snapshot.sketch = *std::move(decoded);
  return snapshot;
}

}  // namespace strata::advisor
