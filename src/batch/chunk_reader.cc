#include "batch/chunk_reader.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "fmt/format.h"

namespace strata::batch {

absl::StatusOr<std::unique_ptr<ChunkReader>> ChunkReader::Open(const std::string& path,
                                                               bool has_header,
                                                               int64_t rows_per_chunk) {
  std::FILE* file = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::NotFoundError(fmt::format("cannot open input {}: {}", path, std::strerror(errno)));
  }
  auto reader = std::unique_ptr<ChunkReader>(new ChunkReader(file, path != "-", rows_per_chunk));
  reader->buffer_.resize(4 << 20);
  std::setvbuf(file, reader->buffer_.data(), _IOFBF, reader->buffer_.size());
  struct stat st {};
  if (::fstat(::fileno(file), &st) == 0 && S_ISREG(st.st_mode)) {
    reader->total_bytes_ = st.st_size;
  }
  if (has_header && !reader->ReadLine(reader->header_)) {
    return absl::InvalidArgumentError(
        fmt::format("input {} is empty: a CSV input starts with a header line", path));
  }
  return reader;
}

ChunkReader::~ChunkReader() {
  if (owned_) std::fclose(file_);
  std::free(line_buffer_);
}

bool ChunkReader::ReadLine(std::string& line) {
  while (true) {
    line.clear();
    const ssize_t n = ::getline(&line_buffer_, &line_buffer_size_, file_);
    if (n < 0) return false;
    const char* buffer = line_buffer_;
    bytes_read_ += n;
    ++line_number_;
    size_t length = static_cast<size_t>(n);
    while (length > 0 && (buffer[length - 1] == '\n' || buffer[length - 1] == '\r')) {
      --length;
    }
    bool blank = true;
    for (size_t i = 0; i < length && blank; ++i) {
      blank = buffer[i] == ' ' || buffer[i] == '\t';
    }
    if (blank) continue;
    line.assign(buffer, length);
    return true;
  }
}

absl::StatusOr<std::optional<Chunk>> ChunkReader::Next(bool skip) {
  Chunk chunk;
  chunk.index = next_index_;
  chunk.first_row = rows_;
  std::vector<size_t> offsets;
  int64_t count = 0;
  while (count < rows_per_chunk_ && ReadLine(line_)) {
    ++count;
    if (skip) continue;
    offsets.push_back(chunk.text.size());
    chunk.text.insert(chunk.text.end(), line_.begin(), line_.end());
    chunk.line_numbers.push_back(line_number_);
  }
  if (std::ferror(file_)) {
    return absl::InternalError(fmt::format("cannot read the input: {}", std::strerror(errno)));
  }
  if (count == 0) return std::nullopt;
  ++next_index_;
  rows_ += count;
  chunk.rows = count;
  offsets.push_back(chunk.text.size());
  for (size_t i = 0; i + 1 < offsets.size(); ++i) {
    chunk.lines.emplace_back(chunk.text.data() + offsets[i], offsets[i + 1] - offsets[i]);
  }
  return chunk;
}

}  // namespace strata::batch
