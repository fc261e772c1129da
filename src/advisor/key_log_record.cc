#include "advisor/key_log_record.h"

#include <cctype>
#include <charconv>

#include "fmt/format.h"

namespace strata::advisor {
namespace {

// A cursor over one line of JSON; each Skip/Read returns false on a syntax
// error.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  void Space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool Take(char c) {
    Space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool AtEnd() {
    Space();
    return pos_ == text_.size();
  }

  // A string, unescaped into `out` (escapes of quote, backslash, slash
  // and control letters; \u escapes are kept as written).
  bool String(std::string& out) {
    Space();
    if (pos_ >= text_.size() || text_[pos_] != '"') return false;
    out.clear();
    for (++pos_; pos_ < text_.size(); ++pos_) {
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c == '\\') {
        if (++pos_ >= text_.size()) return false;
        switch (c = text_[pos_]) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case 'r':
            out += '\r';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'u':
            out += "\\u";
            break;
          default:
            out += c;
        }
        continue;
      }
      out += c;
    }
    return false;
  }

  // Any value; `raw` is its exact text.
  bool Value(std::string_view& raw) {
    Space();
    const size_t start = pos_;
    if (pos_ >= text_.size()) return false;
    const char c = text_[pos_];
    bool ok;
    if (c == '"') {
      std::string ignored;
      ok = String(ignored);
    } else if (c == '{' || c == '[') {
      ok = Nested();
    } else {
      while (pos_ < text_.size() &&
             (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '-' ||
              text_[pos_] == '+' || text_[pos_] == '.')) {
        ++pos_;
      }
      ok = pos_ > start;
    }
    raw = text_.substr(start, pos_ - start);
    return ok;
  }

 private:
  // An object or array, balanced, strings skipped whole.
  bool Nested() {
    int depth = 0;
    for (; pos_ < text_.size(); ++pos_) {
      const char c = text_[pos_];
      if (c == '"') {
        std::string ignored;
        if (!String(ignored)) return false;
        --pos_;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) {
          ++pos_;
          return true;
        }
      }
    }
    return false;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

bool Number(std::string_view raw, double& out) {
  auto [end, err] = std::from_chars(raw.data(), raw.data() + raw.size(), out);
  return err == std::errc() && end == raw.data() + raw.size();
}

}  // namespace

absl::StatusOr<KeyLogRecord> ParseKeyLogLine(std::string_view line) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        fmt::format("not a key log record ({}): {}", why, line.substr(0, 120)));
  };
  Cursor cursor(line);
  KeyLogRecord record;
  bool has_key = false;
  if (!cursor.Take('{')) return bad("expected a JSON object");
  if (!cursor.Take('}')) {
    do {
      std::string field;
      std::string_view raw;
      if (!cursor.String(field) || !cursor.Take(':') || !cursor.Value(raw)) {
        return bad("broken JSON");
      }
      if (field == "key") {
        record.key.assign(raw);
        has_key = true;
      } else if (field == "key_hash" || field == "endpoint") {
        Cursor value(raw);
        std::string text;
        if (!value.String(text)) return bad(fmt::format("'{}' must be a string", field));
        if (field == "endpoint") {
          record.endpoint = std::move(text);
        } else {
          record.key = std::move(text);
          record.hashed = has_key = true;
        }
      } else if (field == "ts" || field == "sample") {
        double number;
        if (!Number(raw, number)) return bad(fmt::format("'{}' must be a number", field));
        (field == "ts" ? record.ts : record.sample) = number;
      }
    } while (cursor.Take(','));
    if (!cursor.Take('}')) return bad("broken JSON");
  }
  if (!cursor.AtEnd()) return bad("text after the object");
  if (!has_key) return bad("no \"key\" or \"key_hash\"");
  if (!(record.sample > 0 && record.sample <= 1)) return bad("'sample' must be in (0, 1]");
  return record;
}

}  // namespace strata::advisor
