// FileOutputWriter writes a batch job's rows to a CSV or JSON Lines file:
// the key columns as they were read, then the outputs (an output of k
// values per row becomes columns name_0..name_{k-1} in CSV, an array in
// JSON Lines). It writes `<path>.tmp` and renames it to `path` on Finish(),
// so the output appears whole or not at all. Single-threaded.
#ifndef STRATA_BATCH_FILE_OUTPUT_WRITER_H_
#define STRATA_BATCH_FILE_OUTPUT_WRITER_H_

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "store/key_schema.h"
#include "store/table_manifest.h"

namespace strata::batch {

enum class OutputFormat { kCsv, kJsonl };

class FileOutputWriter {
 public:
  static absl::StatusOr<std::unique_ptr<FileOutputWriter>> Create(
      const std::string& path, OutputFormat format, store::KeySchema key,
      std::vector<store::OutputColumn> outputs);
  ~FileOutputWriter();  // without Finish(), removes the temporary file

  // `key_texts`: one per key column; `value`: the row's outputs.
  absl::Status Write(const std::vector<std::string_view>& key_texts, std::string_view value);
  absl::Status Finish();

 private:
  FileOutputWriter(std::string path, OutputFormat format, store::KeySchema key,
                   std::vector<store::OutputColumn> outputs, std::FILE* file)
      : path_(std::move(path)),
        format_(format),
        key_(std::move(key)),
        outputs_(std::move(outputs)),
        file_(file) {}

  std::string path_;
  OutputFormat format_;
  store::KeySchema key_;
  std::vector<store::OutputColumn> outputs_;
  std::FILE* file_;
  std::string line_;
};

// Appends the CSV form of a field (quoted when it holds , " or a newline).
void AppendCsvField(std::string_view value, std::string& out);
// Appends element `index` of an output of `dtype` stored at `data`.
void AppendNumber(core::DataType dtype, const char* data, std::string& out);

}  // namespace strata::batch

#endif  // STRATA_BATCH_FILE_OUTPUT_WRITER_H_
