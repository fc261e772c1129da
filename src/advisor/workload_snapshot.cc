#include "advisor/workload_snapshot.h"

#include "advisor/byte_codec.h"

namespace strata::advisor {
namespace {
// Version 2 added hashed_keys; version 1 snapshots are still read.
constexpr std::string_view kMagic = "STRATA-SNAPSHOT-2";
constexpr std::string_view kMagicV1 = "STRATA-SNAPSHOT-1";
}  // namespace

std::string WorkloadSnapshot::Encode() const {
  ByteWriter out;
  out.Bytes(kMagic);
  out.Bytes(endpoint);
  out.F64(seconds);
  out.U64(hashed_keys ? 1 : 0);
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
  if (!in.Bytes(magic, kMagic.size()) || (magic != kMagic && magic != kMagicV1)) {
    return absl::InvalidArgumentError("not a strata workload snapshot");
  }
  uint64_t hashed = 0;
  if (!in.Bytes(snapshot.endpoint, 1 << 10) || !in.F64(snapshot.seconds) ||
      (magic == kMagic && (!in.U64(hashed) || hashed > 1)) || !in.U64(count) || count > 64) {
    return absl::InvalidArgumentError("malformed workload snapshot header");
  }
  snapshot.hashed_keys = hashed == 1;
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
