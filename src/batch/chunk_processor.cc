#include "batch/chunk_processor.h"

#include <algorithm>
#include <numeric>

#include "fmt/format.h"
#include "store/sorted_run.h"
#include "store/table_directory.h"

namespace strata::batch {
namespace fs = std::filesystem;
namespace {

void PutU32(uint32_t v, std::string& out) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

// Records of one chunk, in one arena.
struct Records {
  std::string arena;
  struct Entry {
    size_t key_offset, key_size, value_offset, value_size;
  };
  std::vector<Entry> entries;

  void Add(std::string_view key, std::string_view value) {
    entries.push_back({arena.size(), key.size(), arena.size() + key.size(), value.size()});
    arena.append(key);
    arena.append(value);
  }
  std::string_view Key(const Entry& e) const {
    return std::string_view(arena).substr(e.key_offset, e.key_size);
  }
  std::string_view Value(const Entry& e) const {
    return std::string_view(arena).substr(e.value_offset, e.value_size);
  }
};

}  // namespace

absl::StatusOr<std::vector<store::OutputColumn>> TableOutputs(const runtime::ModelConfig& config) {
  std::vector<store::OutputColumn> outputs;
  const bool batched = config.max_batch_size > 0;
  for (const runtime::TensorSpec& spec : config.outputs) {
    if (spec.dtype == core::DataType::kBytes) {
      return absl::InvalidArgumentError(fmt::format(
          "output '{}' is BYTES; strata batch writes fixed-size outputs only", spec.name));
    }
    store::OutputColumn column{spec.name, spec.dtype, {}};
    for (size_t i = batched ? 1 : 0; i < spec.shape.size(); ++i) {
      if (spec.shape[i] < 0) {
        return absl::InvalidArgumentError(
            fmt::format("output '{}' has a variable dimension besides the batch", spec.name));
      }
      column.shape.push_back(spec.shape[i]);
    }
    outputs.push_back(std::move(column));
  }
  if (!batched) {
    return absl::InvalidArgumentError(
        fmt::format("model '{}' has max_batch_size 0 (no batch dimension); strata batch "
                    "needs a model that takes rows in batches",
                    config.name));
  }
  return outputs;
}

void EncodeFileValue(const std::vector<std::string>& key_texts, std::string_view outputs,
                     std::string& value) {
  value.clear();
  for (const std::string& text : key_texts) {
    PutU32(static_cast<uint32_t>(text.size()), value);
    value.append(text);
  }
  value.append(outputs);
}

bool DecodeFileValue(std::string_view value, size_t key_columns,
                     std::vector<std::string_view>& key_texts, std::string_view& outputs) {
  key_texts.clear();
  for (size_t c = 0; c < key_columns; ++c) {
    if (value.size() < 4) return false;
    uint32_t n = 0;
    for (int i = 3; i >= 0; --i) n = n << 8 | static_cast<uint8_t>(value[i]);
    if (value.size() - 4 < n) return false;
    key_texts.push_back(value.substr(4, n));
    value.remove_prefix(4 + n);
  }
  outputs = value;
  return true;
}

fs::path ChunkProcessor::RunPath(const fs::path& parts_dir, int64_t index) {
  return parts_dir / fmt::format("part-{:08}.run", index);
}

fs::path ChunkProcessor::RejectsPath(const fs::path& parts_dir, int64_t index) {
  return parts_dir / fmt::format("part-{:08}.rejects", index);
}

namespace {

// One chunk's work: decode its lines a batch at a time, run the model on
// each batch, and collect the records and the rejected lines.
class ChunkRun {
 public:
  ChunkRun(const ChunkProcessorOptions& options, const Chunk& chunk)
      : options_(options),
        config_(*options.model_config),
        chunk_(chunk),
        batch_limit_(std::max<int64_t>(1, std::min(options.batch_size, config_.max_batch_size))),
        rows_(batch_limit_),
        positions_(batch_limit_) {
    for (const store::OutputColumn& o : options_.outputs) value_size_ += o.BytesPerRow();
    records_.arena.reserve(chunk.lines.size() * (value_size_ + 32));
  }

  // Runs every line of the chunk through the model.
  absl::Status RunAll() {
    while (next_ < chunk_.lines.size()) {
      int64_t n = 0;
      absl::StatusOr<std::vector<core::Tensor>> inputs =
          options_.features != nullptr ? FeatureInputs(n) : DecodedInputs(n);
      if (!inputs.ok()) return inputs.status();
      if (n == 0) break;
      absl::StatusOr<std::vector<core::Tensor>> outputs = RunModel(*inputs, n);
      if (!outputs.ok()) return outputs.status();
      AddRecords(*outputs, n);
    }
    return absl::OkStatus();
  }

  // Writes the rejects (when on), then the records as a sorted run.
  absl::Status Write() const {
    if (options_.reject) {
      absl::Status s = store::WriteFileAtomically(
          ChunkProcessor::RejectsPath(options_.parts_dir, chunk_.index), rejects_);
      if (!s.ok()) return s;
    }
    absl::StatusOr<std::unique_ptr<store::SortedRunWriter>> writer =
        store::SortedRunWriter::Create(ChunkProcessor::RunPath(options_.parts_dir, chunk_.index));
    if (!writer.ok()) return writer.status();
    for (size_t i : SortedOrder()) {
      const Records::Entry& e = records_.entries[i];
      absl::Status s = (*writer)->Add(records_.Key(e), records_.Value(e));
      if (!s.ok()) return s;
    }
    return (*writer)->Finish();
  }

  int64_t rejected() const { return rejected_; }

 private:
  // Zero tensors for a full batch of every model input.
  std::vector<core::Tensor> EmptyBatch() const {
    std::vector<core::Tensor> inputs;
    for (const runtime::TensorSpec& spec : config_.inputs) {
      core::Shape shape = spec.shape;
      shape[0] = batch_limit_;
      inputs.push_back(core::Tensor::Zeros(spec.name, spec.dtype, shape));
    }
    return inputs;
  }

  // Decodes the next lines into `inputs`, up to a batch; returns the rows
  // decoded. A malformed line fails the chunk or, with rejects on, is kept.
  template <typename DecodeLine>
  absl::StatusOr<int64_t> DecodeBatch(const DecodeLine& decode) {
    int64_t n = 0;
    for (; next_ < chunk_.lines.size() && n < batch_limit_; ++next_) {
      absl::Status s = decode(chunk_.lines[next_], n);
      if (!s.ok()) {
        const int64_t line = chunk_.line_numbers[next_];
        if (!options_.reject) {
          return absl::InvalidArgumentError(
              fmt::format("line {}: {}", line, std::string(s.message())));
        }
        ++rejected_;
        fmt::format_to(std::back_inserter(rejects_), "{}\t{}\t{}\n", line, std::string(s.message()),
                       chunk_.lines[next_]);
        continue;
      }
      positions_[n] = chunk_.first_row + static_cast<int64_t>(next_);
      ++n;
    }
    return n;
  }

  // The next batch's model inputs, decoded from the lines' columns; `n` rows.
  absl::StatusOr<std::vector<core::Tensor>> DecodedInputs(int64_t& n) {
    std::vector<core::Tensor> inputs = EmptyBatch();
    absl::StatusOr<int64_t> decoded = DecodeBatch([&](std::string_view line, int64_t row) {
      return options_.decoder->Decode(line, row, inputs, rows_[row]);
    });
    if (!decoded.ok()) return decoded.status();
    n = *decoded;
    for (core::Tensor& input : inputs) {
      const size_t row_bytes = input.data.size() / batch_limit_;
      input.shape[0] = n;
      input.data.resize(row_bytes * n);
    }
    return inputs;
  }

  // The next batch's model inputs through the feature stage (keys and
  // request fields -> lookups -> transformations); `n` rows.
  absl::StatusOr<std::vector<core::Tensor>> FeatureInputs(int64_t& n) {
    features::RawRows raw(batch_limit_, options_.features->slots());
    absl::StatusOr<int64_t> decoded = DecodeBatch([&](std::string_view line, int64_t row) {
      return options_.features->Decode(line, raw, row, rows_[row]);
    });
    if (!decoded.ok()) return decoded.status();
    n = *decoded;
    if (n == 0) return std::vector<core::Tensor>{};
    if (n < batch_limit_) {
      features::RawRows part(n, raw.slots());
      for (int64_t r = 0; r < n; ++r)
        std::move(raw.Row(r).begin(), raw.Row(r).end(), part.Row(r).begin());
      raw = std::move(part);
    }
    absl::StatusOr<std::vector<core::Tensor>> inputs = options_.features->Inputs(raw);
    if (!inputs.ok()) {
      return absl::InvalidArgumentError(fmt::format("lines {}-{}: {}", chunk_.line_numbers.front(),
                                                    chunk_.line_numbers.back(),
                                                    std::string(inputs.status().message())));
    }
    return inputs;
  }

  // Runs the model on `inputs` (`n` rows); checks its outputs.
  absl::StatusOr<std::vector<core::Tensor>> RunModel(std::vector<core::Tensor>& inputs,
                                                     int64_t n) const {
    absl::StatusOr<std::vector<core::Tensor>> outputs = options_.model->Run(inputs);
    if (!outputs.ok()) {
      return absl::InternalError(fmt::format(
          "model '{}' failed on lines {}-{}: {}", config_.name, chunk_.line_numbers.front(),
          chunk_.line_numbers.back(), std::string(outputs.status().message())));
    }
    if (outputs->size() != options_.outputs.size()) {
      return absl::InternalError(fmt::format("model '{}' returned {} outputs, not {}", config_.name,
                                             outputs->size(), options_.outputs.size()));
    }
    for (size_t o = 0; o < outputs->size(); ++o) {
      const size_t expected = options_.outputs[o].BytesPerRow() * n;
      if ((*outputs)[o].data.size() != expected) {
        return absl::InternalError(fmt::format(
            "model '{}' output '{}' has {} bytes for {} rows; expected {}", config_.name,
            options_.outputs[o].name, (*outputs)[o].data.size(), n, expected));
      }
    }
    return outputs;
  }

  // One record per row: keyed by the row's key, or for a file output by its
  // position (big-endian) with the key texts in the value.
  void AddRecords(const std::vector<core::Tensor>& outputs, int64_t n) {
    std::string row_value(value_size_, '\0');
    std::string value;
    for (int64_t r = 0; r < n; ++r) {
      size_t offset = 0;
      for (size_t o = 0; o < outputs.size(); ++o) {
        const size_t bytes = options_.outputs[o].BytesPerRow();
        std::memcpy(row_value.data() + offset, outputs[o].data.data() + r * bytes, bytes);
        offset += bytes;
      }
      if (!options_.file_output) {
        records_.Add(rows_[r].key, row_value);
        continue;
      }
      std::string key;
      const uint64_t position = static_cast<uint64_t>(positions_[r]);
      for (int shift = 56; shift >= 0; shift -= 8)
        key.push_back(static_cast<char>(position >> shift));
      EncodeFileValue(rows_[r].key_texts, row_value, value);
      records_.Add(key, value);
    }
  }

  // The records' order in the run: by key, or as read for a file output.
  std::vector<size_t> SortedOrder() const {
    std::vector<size_t> order(records_.entries.size());
    std::iota(order.begin(), order.end(), 0);
    if (!options_.file_output) {
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return records_.Key(records_.entries[a]) < records_.Key(records_.entries[b]);
      });
    }
    return order;
  }

  const ChunkProcessorOptions& options_;
  const runtime::ModelConfig& config_;
  const Chunk& chunk_;
  const int64_t batch_limit_;
  size_t value_size_ = 0;
  Records records_;
  std::string rejects_;
  int64_t rejected_ = 0;
  std::vector<DecodedRow> rows_;
  std::vector<int64_t> positions_;  // row position in the input
  size_t next_ = 0;                 // the next line to decode
};

}  // namespace

absl::StatusOr<int64_t> ChunkProcessor::Process(const Chunk& chunk) const {
  ChunkRun run(options_, chunk);
  if (absl::Status s = run.RunAll(); !s.ok()) return s;
  if (absl::Status s = run.Write(); !s.ok()) return s;
  return run.rejected();
}

}  // namespace strata::batch
