// ByteWriter and ByteReader encode the advisor's sketches in a compact
// binary form (little-endian fixed-width integers, length-prefixed
// strings), so a live server can hand its sketches to `strata advise`.
// ByteReader checks every read against the end of its input and reports a
// short or malformed input as failure, never reading past it.
// Value types; not thread-safe.
#ifndef STRATA_ADVISOR_BYTE_CODEC_H_
#define STRATA_ADVISOR_BYTE_CODEC_H_

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace strata::advisor {

class ByteWriter {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  void F64(double v) { U64(std::bit_cast<uint64_t>(v)); }
  void Bytes(std::string_view v) {
    U64(v.size());
    out_.append(v);
  }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  bool U8(uint8_t& v) {
    if (in_.empty()) return false;
    v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool U64(uint64_t& v) {
    if (in_.size() < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
    in_.remove_prefix(8);
    return true;
  }
  bool F64(double& v) {
    uint64_t bits;
    if (!U64(bits)) return false;
    v = std::bit_cast<double>(bits);
    return true;
  }
  bool Bytes(std::string& v, uint64_t max_size) {
    uint64_t size;
    if (!U64(size) || size > max_size || size > in_.size()) return false;
    v.assign(in_.substr(0, size));
    in_.remove_prefix(size);
    return true;
  }
  bool Raw(size_t size, std::string_view& v) {
    if (size > in_.size()) return false;
    v = in_.substr(0, size);
    in_.remove_prefix(size);
    return true;
  }
  bool empty() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace strata::advisor

#endif  // STRATA_ADVISOR_BYTE_CODEC_H_
