#include "batch/feature_batch.h"

#include <deque>

#include "features/materializer.h"
#include "features/source_reader.h"
#include "fmt/format.h"
#include "simdjson.h"

namespace strata::batch {
namespace {

using features::Slot;

// The model must take exactly the definition's outputs, FP32 [-1, width].
absl::Status CheckModelInputs(const runtime::ModelConfig& model,
                              const features::FeaturePipeline& pipeline) {
  const auto& outputs = pipeline.definition().outputs;
  if (model.inputs.size() != outputs.size()) {
    return absl::InvalidArgumentError(
        fmt::format("model '{}' has {} inputs but its features.yaml assembles {}", model.name,
                    model.inputs.size(), outputs.size()));
  }
  for (size_t o = 0; o < outputs.size(); ++o) {
    auto spec = std::find_if(model.inputs.begin(), model.inputs.end(),
                             [&](const auto& s) { return s.name == outputs[o].tensor; });
    const int64_t width = static_cast<int64_t>(pipeline.output_widths()[o]);
    if (spec == model.inputs.end() || spec->dtype != core::DataType::kFp32 ||
        spec->shape.size() != 2 || spec->shape[1] != width) {
      return absl::InvalidArgumentError(fmt::format(
          "features.yaml output '{}' is FP32 [-1, {}], which model '{}' does not take as an input",
          outputs[o].tensor, width, model.name));
    }
  }
  return absl::OkStatus();
}

// The text of a JSON value: a string's bytes, a number's digits, "" for null.
std::string JsonText(simdjson::dom::element v) {
  std::string_view s;
  if (v.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  if (v.is_null()) return "";
  return simdjson::minify(v);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PublishedFeatureTables>> PublishedFeatureTables::Open(
    const store::TableStore& store, const features::FeatureDefinition& definition) {
  auto out = std::unique_ptr<PublishedFeatureTables>(new PublishedFeatureTables());
  for (const features::FeatureTable& table : definition.tables) {
    absl::StatusOr<int64_t> version = store.CurrentVersion(table.name);
    if (!version.ok()) return version.status();
    if (*version == 0) {
      return absl::FailedPreconditionError(fmt::format(
          "feature table '{}' has no published version in {}; materialize it first (strata "
          "features materialize --table {})",
          table.name, store.location(), table.name));
    }
    absl::StatusOr<std::shared_ptr<store::PredictionTable>> opened =
        store.Open(table.name, *version);
    if (!opened.ok()) return opened.status();
    absl::Status fits =
        features::CheckFeatureTableManifest((*opened)->manifest(), definition, table);
    if (!fits.ok()) {
      return absl::FailedPreconditionError(
          fmt::format("feature table '{}' version {} does not fit features.yaml: {}", table.name,
                      *version, std::string(fits.message())));
    }
    out->tables_[table.name] = *std::move(opened);
    out->versions_[table.name] = *version;
  }
  return out;
}

std::shared_ptr<const store::PredictionTable> PublishedFeatureTables::Current(
    std::string_view table) const {
  auto it = tables_.find(table);
  return it == tables_.end() ? nullptr : it->second;
}

absl::StatusOr<std::unique_ptr<FeatureBatch>> FeatureBatch::Create(
    InputFormat format, std::string_view header, const store::KeySchema& key,
    const runtime::ModelConfig& model, std::shared_ptr<const features::FeaturePipeline> pipeline,
    const features::FeatureTableSource& tables, int64_t now) {
  if (absl::Status s = CheckModelInputs(model, *pipeline); !s.ok()) return s;
  auto batch = std::unique_ptr<FeatureBatch>(new FeatureBatch(std::move(pipeline), tables));
  batch->format_ = format;
  batch->key_ = key;
  batch->now_ = now;
  for (const runtime::TensorSpec& spec : model.inputs) batch->input_order_.push_back(spec.name);
  const std::vector<Slot>& slots = batch->pipeline_->slots();
  for (size_t s = 0; s < slots.size(); ++s) {
    if (slots[s].source != Slot::Source::kTable) {
      batch->fields_.push_back({slots[s].column, -1, static_cast<int>(s)});
    }
  }
  batch->slot_fields_ = batch->fields_.size();
  for (const store::KeyColumn& c : key.columns()) batch->fields_.push_back({c.name, -1, -1});
  if (format == InputFormat::kCsv) {
    if (absl::Status s = batch->Locate(header); !s.ok()) return s;
  }
  return batch;
}

// Finds each field's column in the CSV header.
absl::Status FeatureBatch::Locate(std::string_view header) {
  std::vector<std::string_view> names;
  std::deque<std::string> storage;
  if (absl::Status s = SplitCsv(header, names, storage); !s.ok()) return s;
  for (Field& field : fields_) {
    auto it = std::find(names.begin(), names.end(), field.name);
    if (it == names.end()) {
      return absl::InvalidArgumentError(fmt::format(
          "the input has no column '{}': a model with features.yaml reads entity keys and "
          "request fields (the header has: {})",
          field.name, fmt::join(names, ", ")));
    }
    field.index = static_cast<int>(it - names.begin());
  }
  return absl::OkStatus();
}

absl::Status FeatureBatch::Store(std::span<const std::string_view> fields, features::RawRows& rows,
                                 size_t index, DecodedRow& row) const {
  const std::vector<Slot>& slots = pipeline_->slots();
  for (size_t f = 0; f < slot_fields_; ++f) {
    const Slot& slot = slots[fields_[f].slot];
    absl::StatusOr<features::FeatureValue> v = features::ParseFieldText(fields[f], slot.type);
    if (!v.ok())
      return absl::InvalidArgumentError(
          fmt::format("column '{}': {}", fields_[f].name, std::string(v.status().message())));
    rows.At(index, fields_[f].slot) = *std::move(v);
  }
  row.key.clear();
  row.key_texts.clear();
  for (size_t c = 0; c < key_.size(); ++c) {
    const std::string_view text = fields[slot_fields_ + c];
    if (absl::Status s = key_.AppendText(c, text, row.key); !s.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("key column '{}': {}", key_.columns()[c].name, std::string(s.message())));
    }
    row.key_texts.emplace_back(text);
  }
  return absl::OkStatus();
}

absl::Status FeatureBatch::Decode(std::string_view line, features::RawRows& rows, size_t index,
                                  DecodedRow& row) const {
  std::vector<std::string_view> fields(fields_.size());
  if (format_ == InputFormat::kCsv) {
    std::vector<std::string_view> all;
    std::deque<std::string> storage;
    if (absl::Status s = SplitCsv(line, all, storage); !s.ok()) return s;
    for (size_t f = 0; f < fields_.size(); ++f) {
      if (static_cast<size_t>(fields_[f].index) >= all.size()) {
        return absl::InvalidArgumentError(
            fmt::format("the row has no field '{}'", fields_[f].name));
      }
      fields[f] = all[fields_[f].index];
    }
    return Store(fields, rows, index, row);
  }
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(line).get(object) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  std::vector<std::string> texts(fields_.size());
  for (size_t f = 0; f < fields_.size(); ++f) {
    simdjson::dom::element v;
    if (object.at_key(fields_[f].name).get(v) == simdjson::SUCCESS) texts[f] = JsonText(v);
    fields[f] = texts[f];
  }
  return Store(fields, rows, index, row);
}

absl::StatusOr<std::vector<core::Tensor>> FeatureBatch::Inputs(features::RawRows& rows) const {
  absl::StatusOr<features::LookupReport> looked = lookup_.Fill(tables_, rows, now_);
  if (!looked.ok()) return looked.status();
  absl::StatusOr<std::vector<core::Tensor>> tensors = pipeline_->Assemble(rows);
  if (!tensors.ok()) return tensors.status();
  std::vector<core::Tensor> inputs;
  for (const std::string& name : input_order_) {
    for (core::Tensor& t : *tensors) {
      if (t.name == name) inputs.push_back(std::move(t));
    }
  }
  return inputs;
}

}  // namespace strata::batch
