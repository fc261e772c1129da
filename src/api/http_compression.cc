#include "api/http_compression.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>

#include "fmt/format.h"
#include "zlib.h"

namespace strata::api {
namespace {

// zlib window bits: 15 plus 32 detects a zlib or gzip header; -15 is a raw
// deflate stream, which some clients send for "deflate".
constexpr int kAutoDetectWindow = 15 + 32;
constexpr int kRawDeflateWindow = -15;
constexpr int kGzipWindow = 15 + 16;
constexpr int kZlibWindow = 15;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// What became of an inflation that ended with zlib's `result`.
absl::Status InflateStatus(size_t size, size_t max_bytes, int result, bool trailing,
                           std::string_view name, const std::string& zlib_message) {
  if (size > max_bytes) {
    return absl::ResourceExhaustedError(
        fmt::format("the {} request body inflates beyond the limit of {} bytes (--max-body-size)",
                    name, max_bytes));
  }
  if (result != Z_STREAM_END) {
    return absl::InvalidArgumentError(fmt::format(
        "the request body is not valid {} data (Content-Encoding: {}): {}", name, name,
        result == Z_OK || result == Z_BUF_ERROR ? std::string("it is truncated") : zlib_message));
  }
  if (trailing) {
    return absl::InvalidArgumentError(
        fmt::format("the request body has bytes after the end of its {} stream", name));
  }
  return absl::OkStatus();
}

// Makes room for at least `size` bytes in `out`, at least doubling its
// capacity (up to `limit`), once `reservation` covers the new capacity on
// top of the `base` bytes it held before inflating. False when the budget
// cannot. The old buffer is freed right after the copy, uncounted.
bool Reserve(std::string& out, size_t size, size_t limit, BodyReservation* reservation,
             size_t base) {
  if (size <= out.capacity()) return true;
  const size_t capacity = std::min(std::max(size, 2 * out.capacity()), limit);
  if (reservation != nullptr && !reservation->GrowTo(base + capacity)) return false;
  std::string grown;
  grown.reserve(capacity);  // exactly: std::string would round up to double
  grown.append(out);
  out.swap(grown);
  return true;
}

// A gzip stream ends with its inflated size (mod 2^32); 0 for other data.
// Only a first guess, so that an honest body inflates into one exact
// allocation (and the budget is asked for no more than it needs).
size_t GzipSizeHint(std::string_view body) {
  if (body.size() < 18 || body[0] != '\x1f' || body[1] != '\x8b') return 0;
  const auto* end = reinterpret_cast<const unsigned char*>(body.data() + body.size());
  return size_t{end[-4]} | size_t{end[-3]} << 8 | size_t{end[-2]} << 16 | size_t{end[-1]} << 24;
}

absl::Status BudgetSpent(const BodyReservation& reservation, std::string_view name) {
  return absl::UnavailableError(
      fmt::format("the server holds too much request-body memory to inflate this {} body now "
                  "(--body-memory-budget {} bytes); retry later",
                  name, reservation.budget_limit()));
}

// Inflates `body` with zlib's `window_bits`; errors carry zlib's message.
absl::StatusOr<std::string> Inflate(std::string_view body, int window_bits, size_t max_bytes,
                                    std::string_view name, BodyReservation* reservation) {
  z_stream stream{};
  if (inflateInit2(&stream, window_bits) != Z_OK) {
    return absl::InternalError("zlib could not start inflating");
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  stream.avail_in = static_cast<uInt>(body.size());
  const size_t base = reservation != nullptr ? reservation->bytes() : 0;
  const size_t limit = max_bytes + 1;  // one more byte tells "too large"
  const size_t step = std::max<size_t>(body.size() * 4, 16384);
  const size_t hint = GzipSizeHint(body);
  std::string out;
  int result = Z_OK;
  bool budget_spent =
      !Reserve(out, std::min(limit, hint > 0 ? hint + 1 : step), limit, reservation, base);
  while (!budget_spent && result == Z_OK && out.size() < limit) {
    const size_t offset = out.size();
    if (offset == out.capacity() && !Reserve(out, offset + 1, limit, reservation, base)) {
      budget_spent = true;
      break;
    }
    const size_t chunk = std::min(out.capacity() - offset, step);
    out.resize(offset + chunk);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + offset);
    stream.avail_out = static_cast<uInt>(chunk);
    result = inflate(&stream, Z_NO_FLUSH);
    out.resize(offset + chunk - stream.avail_out);
    if (result == Z_BUF_ERROR && stream.avail_in == 0) break;  // truncated input
    if (result == Z_BUF_ERROR) result = Z_OK;                  // output full
  }
  const bool trailing = stream.avail_in != 0;
  const std::string zlib_message = stream.msg != nullptr ? stream.msg : "corrupt stream";
  inflateEnd(&stream);
  absl::Status status =
      budget_spent ? BudgetSpent(*reservation, name)
                   : InflateStatus(out.size(), max_bytes, result, trailing, name, zlib_message);
  if (!status.ok()) {
    if (reservation != nullptr) reservation->ShrinkTo(base);
    return status;
  }
  return out;
}

}  // namespace

std::string_view ContentEncodingName(ContentEncoding encoding) {
  switch (encoding) {
    case ContentEncoding::kIdentity:
      return "identity";
    case ContentEncoding::kGzip:
      return "gzip";
    case ContentEncoding::kDeflate:
      return "deflate";
  }
  return "identity";
}

absl::StatusOr<ContentEncoding> ParseContentEncoding(std::string_view header) {
  const std::string_view coding = Trim(header);
  if (coding.empty() || EqualsIgnoreCase(coding, "identity")) {
    return ContentEncoding::kIdentity;
  }
  if (EqualsIgnoreCase(coding, "gzip") || EqualsIgnoreCase(coding, "x-gzip")) {
    return ContentEncoding::kGzip;
  }
  if (EqualsIgnoreCase(coding, "deflate")) return ContentEncoding::kDeflate;
  return absl::UnimplementedError(
      fmt::format("Content-Encoding '{}' is not supported; send the body uncompressed or "
                  "with exactly one of gzip, deflate",
                  coding));
}

absl::StatusOr<std::string> Decompress(std::string_view body, ContentEncoding encoding,
                                       size_t max_bytes, BodyReservation* reservation) {
  switch (encoding) {
    case ContentEncoding::kIdentity:
      return std::string(body);
    case ContentEncoding::kGzip:
      return Inflate(body, kAutoDetectWindow, max_bytes, "gzip", reservation);
    case ContentEncoding::kDeflate: {
      absl::StatusOr<std::string> zlib =
          Inflate(body, kAutoDetectWindow, max_bytes, "deflate", reservation);
      if (zlib.ok() || zlib.status().code() != absl::StatusCode::kInvalidArgument) {
        return zlib;
      }
      absl::StatusOr<std::string> raw =
          Inflate(body, kRawDeflateWindow, max_bytes, "deflate", reservation);
      return raw.ok() ? raw : zlib;
    }
  }
  return absl::InternalError("unknown content encoding");
}

ContentEncoding NegotiateEncoding(std::string_view accept_encoding) {
  // nullopt: not named, so "*" decides.
  std::optional<bool> gzip;
  std::optional<bool> deflate;
  bool any = false;
  while (!accept_encoding.empty()) {
    const size_t comma = accept_encoding.find(',');
    std::string_view item = accept_encoding.substr(0, comma);
    accept_encoding =
        comma == std::string_view::npos ? std::string_view() : accept_encoding.substr(comma + 1);
    const size_t semicolon = item.find(';');
    const std::string_view coding = Trim(item.substr(0, semicolon));
    bool accepted = true;
    if (semicolon != std::string_view::npos) {
      std::string_view parameter = Trim(item.substr(semicolon + 1));
      if (parameter.starts_with("q=") || parameter.starts_with("Q=")) {
        accepted = std::strtod(std::string(parameter.substr(2)).c_str(), nullptr) > 0;
      }
    }
    if (EqualsIgnoreCase(coding, "gzip") || EqualsIgnoreCase(coding, "x-gzip"))
      gzip = accepted;
    else if (EqualsIgnoreCase(coding, "deflate"))
      deflate = accepted;
    else if (coding == "*")
      any = accepted;
  }
  if (gzip.value_or(any)) return ContentEncoding::kGzip;
  if (deflate.value_or(any)) return ContentEncoding::kDeflate;
  return ContentEncoding::kIdentity;
}

std::string Compress(std::string_view body, ContentEncoding encoding) {
  if (encoding == ContentEncoding::kIdentity) return std::string(body);
  z_stream stream{};
  const int window = encoding == ContentEncoding::kGzip ? kGzipWindow : kZlibWindow;
  // Level 1: most of the saving on tensor data at a fraction of the time.
  deflateInit2(&stream, 1, Z_DEFLATED, window, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, body.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  stream.avail_in = static_cast<uInt>(body.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

}  // namespace strata::api
