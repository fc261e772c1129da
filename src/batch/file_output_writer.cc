#include "batch/file_output_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "core/text_escape.h"
#include "fmt/format.h"

namespace strata::batch {

using core::AppendJsonString;
using core::DataType;

void AppendCsvField(std::string_view value, std::string& out) {
  if (value.find_first_of(",\"\n\r") == std::string_view::npos) {
    out.append(value);
    return;
  }
  out.push_back('"');
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

void AppendNumber(DataType dtype, const char* p, std::string& out) {
  core::VisitDataType(dtype, [&](auto tag) {
    using Tag = decltype(tag);
    using T = typename Tag::Element;
    if constexpr (Tag::kIsInteger || Tag::kIsFloat || Tag::kIsBool) {
      T v;
      std::memcpy(&v, p, sizeof v);
      if constexpr (Tag::kIsBool) {
        out += v ? "true" : "false";
      } else {
        // INT8 and UINT8 as numbers, not characters.
        fmt::format_to(std::back_inserter(out), "{}", +v);
      }
    } else {
      out += "null";
    }
  });
}

absl::StatusOr<std::unique_ptr<FileOutputWriter>> FileOutputWriter::Create(
    const std::string& path, OutputFormat format, store::KeySchema key,
    std::vector<store::OutputColumn> outputs) {
  const std::string tmp = path + ".tmp";
  std::FILE* file = std::fopen(tmp.c_str(), "wb");
  if (file == nullptr) {
    return absl::InternalError(fmt::format("cannot create {}: {}", tmp, std::strerror(errno)));
  }
  std::setvbuf(file, nullptr, _IOFBF, 1 << 20);
  auto writer = std::unique_ptr<FileOutputWriter>(
      new FileOutputWriter(path, format, std::move(key), std::move(outputs), file));
  if (format == OutputFormat::kCsv) {
    std::string header;
    for (const store::KeyColumn& c : writer->key_.columns()) {
      if (!header.empty()) header += ',';
      AppendCsvField(c.name, header);
    }
    for (const store::OutputColumn& o : writer->outputs_) {
      const size_t n = o.ElementsPerRow();
      for (size_t e = 0; e < n; ++e) {
        header += ',';
        AppendCsvField(o.shape.empty() ? o.name : fmt::format("{}_{}", o.name, e), header);
      }
    }
    header += '\n';
    std::fwrite(header.data(), 1, header.size(), file);
  }
  return writer;
}

FileOutputWriter::~FileOutputWriter() {
  if (file_ != nullptr) {
    std::fclose(file_);
    ::unlink((path_ + ".tmp").c_str());
  }
}

absl::Status FileOutputWriter::Write(const std::vector<std::string_view>& key_texts,
                                     std::string_view value) {
  line_.clear();
  const char* p = value.data();
  if (format_ == OutputFormat::kCsv) {
    for (size_t c = 0; c < key_texts.size(); ++c) {
      if (c) line_ += ',';
      AppendCsvField(key_texts[c], line_);
    }
    for (const store::OutputColumn& o : outputs_) {
      const size_t size = core::ElementSize(o.dtype);
      for (size_t e = 0; e < o.ElementsPerRow(); ++e, p += size) {
        line_ += ',';
        AppendNumber(o.dtype, p, line_);
      }
    }
  } else {
    line_ += '{';
    for (size_t c = 0; c < key_texts.size(); ++c) {
      if (c) line_ += ',';
      AppendJsonString(key_.columns()[c].name, line_);
      line_ += ':';
      if (key_.columns()[c].dtype == DataType::kInt64) {
        line_.append(key_texts[c]);
      } else {
        AppendJsonString(key_texts[c], line_);
      }
    }
    for (const store::OutputColumn& o : outputs_) {
      line_ += ',';
      AppendJsonString(o.name, line_);
      line_ += ':';
      const size_t size = core::ElementSize(o.dtype);
      if (!o.shape.empty()) line_ += '[';
      for (size_t e = 0; e < o.ElementsPerRow(); ++e, p += size) {
        if (e) line_ += ',';
        const size_t before = line_.size();
        AppendNumber(o.dtype, p, line_);
        const std::string_view number = std::string_view(line_).substr(before);
        if (number == "nan" || number == "inf" || number == "-inf") {
          line_.resize(before);
          line_ += "null";  // JSON has no NaN
        }
      }
      if (!o.shape.empty()) line_ += ']';
    }
    line_ += '}';
  }
  line_ += '\n';
  if (std::fwrite(line_.data(), 1, line_.size(), file_) != line_.size()) {
    return absl::InternalError(fmt::format("cannot write {}.tmp: {}", path_, std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status FileOutputWriter::Finish() {
  const std::string tmp = path_ + ".tmp";
  const bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  std::fclose(file_);
  file_ = nullptr;
  if (!ok || std::rename(tmp.c_str(), path_.c_str()) != 0) {
    const std::string error = std::strerror(errno);
    ::unlink(tmp.c_str());
    return absl::InternalError(fmt::format("cannot write {}: {}", path_, error));
  }
  return absl::OkStatus();
}

}  // namespace strata::batch
