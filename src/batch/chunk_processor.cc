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

absl::StatusOr<int64_t> ChunkProcessor::Process(const Chunk& chunk) const {
  const runtime::ModelConfig& config = *options_.model_config;
  const int64_t batch_limit =
      std::max<int64_t>(1, std::min(options_.batch_size, config.max_batch_size));
  size_t value_size = 0;
  for (const store::OutputColumn& o : options_.outputs) value_size += o.BytesPerRow();

  Records records;
  records.arena.reserve(chunk.lines.size() * (value_size + 32));
  std::string rejects;
  int64_t rejected = 0;
  std::vector<DecodedRow> rows(batch_limit);
  std::vector<int64_t> positions(batch_limit);  // row position in the input
  std::string value;
  size_t next = 0;
  while (next < chunk.lines.size()) {
    std::vector<core::Tensor> inputs;
    for (const runtime::TensorSpec& spec : config.inputs) {
      core::Shape shape = spec.shape;
      shape[0] = batch_limit;
      inputs.push_back(core::Tensor::Zeros(spec.name, spec.dtype, shape));
    }
    int64_t n = 0;
    for (; next < chunk.lines.size() && n < batch_limit; ++next) {
      absl::Status s = options_.decoder->Decode(chunk.lines[next], n, inputs, rows[n]);
      if (!s.ok()) {
        const int64_t line = chunk.line_numbers[next];
        if (!options_.reject) {
          return absl::InvalidArgumentError(
              fmt::format("line {}: {}", line, std::string(s.message())));
        }
        ++rejected;
        fmt::format_to(std::back_inserter(rejects), "{}\t{}\t{}\n", line, std::string(s.message()),
                       chunk.lines[next]);
        continue;
      }
      positions[n] = chunk.first_row + static_cast<int64_t>(next);
      ++n;
    }
    if (n == 0) break;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const size_t row_bytes = inputs[i].data.size() / batch_limit;
      inputs[i].shape[0] = n;
      inputs[i].data.resize(row_bytes * n);
    }
    absl::StatusOr<std::vector<core::Tensor>> outputs = options_.model->Run(inputs);
    if (!outputs.ok()) {
      return absl::InternalError(fmt::format("model '{}' failed on lines {}-{}: {}", config.name,
                                             chunk.line_numbers.front(), chunk.line_numbers.back(),
                                             std::string(outputs.status().message())));
    }
    if (outputs->size() != options_.outputs.size()) {
      return absl::InternalError(fmt::format("model '{}' returned {} outputs, not {}", config.name,
                                             outputs->size(), options_.outputs.size()));
    }
    for (size_t o = 0; o < outputs->size(); ++o) {
      const size_t expected = options_.outputs[o].BytesPerRow() * n;
      if ((*outputs)[o].data.size() != expected) {
        return absl::InternalError(
            fmt::format("model '{}' output '{}' has {} bytes for {} rows; expected {}", config.name,
                        options_.outputs[o].name, (*outputs)[o].data.size(), n, expected));
      }
    }
    std::string row_value(value_size, '\0');
    for (int64_t r = 0; r < n; ++r) {
      size_t offset = 0;
      for (size_t o = 0; o < outputs->size(); ++o) {
        const size_t bytes = options_.outputs[o].BytesPerRow();
        std::memcpy(row_value.data() + offset, (*outputs)[o].data.data() + r * bytes, bytes);
        offset += bytes;
      }
      if (options_.file_output) {
        std::string key;
        const uint64_t position = static_cast<uint64_t>(positions[r]);
        for (int shift = 56; shift >= 0; shift -= 8) {
          key.push_back(static_cast<char>(position >> shift));
        }
        EncodeFileValue(rows[r].key_texts, row_value, value);
        records.Add(key, value);
      } else {
        records.Add(rows[r].key, row_value);
      }
    }
  }

  std::vector<size_t> order(records.entries.size());
  std::iota(order.begin(), order.end(), 0);
  if (!options_.file_output) {
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return records.Key(records.entries[a]) < records.Key(records.entries[b]);
    });
  }
  if (options_.reject) {
    absl::Status s =
        store::WriteFileAtomically(RejectsPath(options_.parts_dir, chunk.index), rejects);
    if (!s.ok()) return s;
  }
  absl::StatusOr<std::unique_ptr<store::SortedRunWriter>> writer =
      store::SortedRunWriter::Create(RunPath(options_.parts_dir, chunk.index));
  if (!writer.ok()) return writer.status();
  for (size_t i : order) {
    const Records::Entry& e = records.entries[i];
    absl::Status s = (*writer)->Add(records.Key(e), records.Value(e));
    if (!s.ok()) return s;
  }
  absl::Status s = (*writer)->Finish();
  if (!s.ok()) return s;
  return rejected;
}

}  // namespace strata::batch
