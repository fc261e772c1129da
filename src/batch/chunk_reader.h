// ChunkReader reads the batch job's input (a file, or stdin for "-") and
// cuts it into chunks of whole lines: chunk k holds data rows
// [k * rows_per_chunk, (k+1) * rows_per_chunk). Chunks are the job's unit of
// work, sharding and checkpointing, so their boundaries depend only on the
// input and rows_per_chunk. Blank lines are skipped; a CSV header is read
// once, before the first chunk. A record is one line (no newlines inside
// quoted CSV fields). Single-threaded.
#ifndef STRATA_BATCH_CHUNK_READER_H_
#define STRATA_BATCH_CHUNK_READER_H_

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace strata::batch {

struct Chunk {
  int64_t index = 0;
  int64_t first_row = 0;  // data rows before this chunk
  int64_t rows = 0;       // data rows in this chunk
  // The lines, without their newlines. A vector, not a string, so that
  // moving a Chunk keeps `lines` valid.
  std::vector<char> text;
  std::vector<std::string_view> lines;  // views into text
  std::vector<int64_t> line_numbers;    // 1-based, in the input
};

class ChunkReader {
 public:
  // `path` "-" reads stdin. With `has_header`, the first non-blank line is
  // the header (see header()).
  static absl::StatusOr<std::unique_ptr<ChunkReader>> Open(const std::string& path, bool has_header,
                                                           int64_t rows_per_chunk);
  ~ChunkReader();

  const std::string& header() const { return header_; }

  // The next chunk; nullopt at the end of the input. With `skip`, returns a
  // chunk with its index and rows counted but no text (cheaper: lines are
  // only counted).
  absl::StatusOr<std::optional<Chunk>> Next(bool skip);

  // The index the next chunk will have.
  int64_t next_index() const { return next_index_; }
  // Safe to call from any thread.
  int64_t bytes_read() const { return bytes_read_.load(std::memory_order_relaxed); }
  // The input's size when it is a regular file, else 0.
  int64_t total_bytes() const { return total_bytes_; }

 private:
  ChunkReader(std::FILE* file, bool owned, int64_t rows_per_chunk)
      : file_(file), owned_(owned), rows_per_chunk_(rows_per_chunk) {}
  // Reads the next non-blank line into `line`; false at the end.
  bool ReadLine(std::string& line);

  std::FILE* file_;
  bool owned_;
  int64_t rows_per_chunk_;
  std::string header_;
  int64_t next_index_ = 0;
  int64_t rows_ = 0;
  int64_t line_number_ = 0;
  std::atomic<int64_t> bytes_read_{0};
  int64_t total_bytes_ = 0;
  std::vector<char> buffer_;
  char* line_buffer_ = nullptr;  // getline's, freed by the destructor
  size_t line_buffer_size_ = 0;
  std::string line_;
};

}  // namespace strata::batch

#endif  // STRATA_BATCH_CHUNK_READER_H_
