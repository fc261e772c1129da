#include "serving/served_features.h"

#include <algorithm>
#include <cstring>

#include "core/shape.h"
#include "core/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "serving/feature_inputs.h"
#include "store/key_schema.h"

namespace strata::serving {
namespace fs = std::filesystem;
using features::Slot;

namespace {

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

core::DataType KeyDataType(features::ValueType type) {
  return type == features::ValueType::kString ? core::DataType::kBytes : core::DataType::kInt64;
}

std::string KeyText(const store::KeySchema& key) { return key.ToString(); }

core::DataType ColumnDataType(features::ValueType type) {
  switch (type) {
    case features::ValueType::kInt64:
      return core::DataType::kInt64;
    case features::ValueType::kFloat64:
      return core::DataType::kFp64;
    case features::ValueType::kString:
      return core::DataType::kBytes;
  }
  return core::DataType::kBytes;
}

// Empty when `manifest` is a feature table with exactly `table`'s columns,
// else what differs.
std::string ColumnMismatch(const store::TableManifest& manifest,
                           const features::FeatureTable& table) {
  if (manifest.kind != store::TableKind::kFeatures) return "it is not a feature table";
  std::vector<std::string> got, want;
  for (const store::OutputColumn& c : manifest.outputs) {
    got.push_back(fmt::format("{}:{}", c.name, core::DataTypeName(c.dtype)));
  }
  for (const features::Column& c : table.columns) {
    want.push_back(fmt::format("{}:{}", c.name, core::DataTypeName(ColumnDataType(c.type))));
  }
  if (got == want) return "";
  return fmt::format("its columns are [{}] but features.yaml declares [{}]", fmt::join(got, ", "),
                     fmt::join(want, ", "));
}

}  // namespace

// One ComputeAsync call: what the lookup fills and the deadline may
// overtake. Whichever of the two settles it first answers.
struct ServedFeatures::Pending {
  std::shared_ptr<const ServedFeatures> self;
  Job job;
  features::RawRows raw;  // written by the lookup only
  Done done;
  Clock::time_point start;
  std::atomic<bool> settled{false};
};

absl::StatusOr<std::shared_ptr<const ServedFeatures>> ServedFeatures::Load(
    const fs::path& version_dir, const runtime::ModelConfig& config, const std::string& model,
    int64_t version, const FeatureServices& services) {
  const fs::path file = version_dir / features::kFeatureDefinitionFile;
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::shared_ptr<const ServedFeatures>();
  absl::StatusOr<features::FeatureDefinition> definition = features::LoadFeatureDefinition(file);
  if (!definition.ok()) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", features::kFeatureDefinitionFile,
                                                  std::string(definition.status().message())));
  }
  return Create(*std::move(definition), config, model, version, services);
}

absl::StatusOr<std::shared_ptr<const ServedFeatures>> ServedFeatures::Create(
    features::FeatureDefinition definition, const runtime::ModelConfig& config,
    const std::string& model, int64_t version, const FeatureServices& services) {
  std::shared_ptr<ServedFeatures> served(new ServedFeatures());
  served->model_ = model;
  served->version_ = version;
  served->services_ = services;
  absl::StatusOr<std::shared_ptr<const features::FeaturePipeline>> pipeline =
      features::FeaturePipeline::Create(std::move(definition));
  if (!pipeline.ok()) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", features::kFeatureDefinitionFile,
                                                  std::string(pipeline.status().message())));
  }
  served->pipeline_ = *std::move(pipeline);
  served->lookup_ = std::make_unique<features::FeatureLookup>(served->pipeline_);
  STRATA_RETURN_IF_ERROR(served->CheckOutputs(config));
  STRATA_RETURN_IF_ERROR(served->CheckTables());
  const features::FeatureDefinition& d = served->pipeline_->definition();
  for (const features::FeatureTable& t : d.tables) {
    served->any_unavailable_policy_ |= t.on_store_error == features::StoreErrorPolicy::kUnavailable;
  }
  if (services.metrics != nullptr) served->series_ = services.metrics->ForModel(model, d);
  return std::shared_ptr<const ServedFeatures>(std::move(served));
}

absl::Status ServedFeatures::CheckOutputs(const runtime::ModelConfig& config) const {
  const features::FeatureDefinition& d = pipeline_->definition();
  for (const runtime::TensorSpec& input : config.inputs) {
    auto out = std::find_if(d.outputs.begin(), d.outputs.end(),
                            [&](const features::Output& o) { return o.tensor == input.name; });
    if (out == d.outputs.end()) {
      return absl::InvalidArgumentError(fmt::format("{}: no output makes the model's input '{}'",
                                                    features::kFeatureDefinitionFile, input.name));
    }
    const size_t width = pipeline_->output_widths()[static_cast<size_t>(out - d.outputs.begin())];
    const core::Shape made = {1, static_cast<int64_t>(width)};
    if (input.dtype != core::DataType::kFp32 || !core::ShapeMatches(input.shape, made)) {
      return absl::InvalidArgumentError(fmt::format(
          "{}: output '{}' is FP32 {} but the model's input is {} {}",
          features::kFeatureDefinitionFile, input.name, core::ShapeToString({-1, int64_t(width)}),
          core::DataTypeName(input.dtype), core::ShapeToString(input.shape)));
    }
  }
  if (d.outputs.size() != config.inputs.size()) {
    return absl::InvalidArgumentError(fmt::format("{}: {} outputs for a model with {} inputs",
                                                  features::kFeatureDefinitionFile,
                                                  d.outputs.size(), config.inputs.size()));
  }
  return absl::OkStatus();
}

absl::Status ServedFeatures::CheckTables() const {
  if (!services_.tables) return absl::OkStatus();
  const features::FeatureDefinition& d = pipeline_->definition();
  for (const features::FeatureTable& t : d.tables) {
    if (services_.follow_table) services_.follow_table(t.name);
    std::shared_ptr<const store::PredictionTable> open = services_.tables->Current(t.name);
    if (!open) continue;  // no version yet: its policy answers until one opens
    std::vector<store::KeyColumn> keys;
    for (const features::Column& k : d.FindEntity(t.entity)->keys) {
      keys.push_back({k.name, KeyDataType(k.type)});
    }
    const store::KeySchema expected(std::move(keys));
    const store::KeySchema& got = open->manifest().key;
    if (KeyText(got) != KeyText(expected)) {
      return absl::FailedPreconditionError(fmt::format(
          "feature table '{}' version {} is keyed by [{}] but features.yaml keys entity '{}' by "
          "[{}]",
          t.name, open->manifest().version, KeyText(got), t.entity, KeyText(expected)));
    }
    if (std::string why = ColumnMismatch(open->manifest(), t); !why.empty()) {
      return absl::FailedPreconditionError(
          fmt::format("feature table '{}' version {} does not match features.yaml: {}", t.name,
                      open->manifest().version, why));
    }
  }
  return absl::OkStatus();
}

void ServedFeatures::ComputeAsync(Job job, Done done) const {
  const Clock::time_point start = Clock::now();
  absl::StatusOr<features::RawRows> raw = ReadRawRows(*pipeline_, job.inputs, job.rows, model_);
  if (!raw.ok()) return done(raw.status());
  auto pending = std::make_shared<Pending>();
  pending->self = shared_from_this();
  pending->job = std::move(job);
  pending->raw = *std::move(raw);
  pending->done = std::move(done);
  pending->start = start;
  if (pipeline_->definition().tables.empty()) {
    pending->settled = true;
    return Finish(*pending, features::LookupReport{});
  }
  if (!services_.tables) {
    pending->settled = true;
    return Expire(*pending);
  }
  lookup_->FillAsync(*services_.tables, pending->raw, UnixNow(),
                     [pending](absl::StatusOr<features::LookupReport> report) {
                       if (pending->settled.exchange(true)) return;  // the deadline answered
                       pending->self->Finish(*pending, std::move(report));
                     });
  if (pending->settled.load() || !services_.timer) return;
  std::optional<Clock::time_point> deadline = pending->job.deadline;
  if (services_.timeout.count() > 0) {
    const Clock::time_point cap = start + services_.timeout;
    if (!deadline || cap < *deadline) deadline = cap;
  }
  if (!deadline) return;
  services_.timer->At(*deadline, [weak = std::weak_ptr<Pending>(pending)] {
    std::shared_ptr<Pending> p = weak.lock();
    if (!p || p->settled.exchange(true)) return;
    p->self->Expire(*p);
  });
}

void ServedFeatures::Finish(Pending& pending, absl::StatusOr<features::LookupReport> report) const {
  if (!report.ok()) {
    if (series_) series_->RecordDegraded(FeatureSeries::Degraded::kStoreError);
    return pending.done(absl::UnavailableError(
        fmt::format("model '{}': {}", model_, std::string(report.status().message()))));
  }
  const bool any_table = !pipeline_->definition().tables.empty();
  const bool unavailable = std::find(report->unavailable.begin(), report->unavailable.end(), 1) !=
                           report->unavailable.end();
  if (series_ && any_table) {
    series_->RecordLookup(*report, Clock::now() - pending.start);
    if (unavailable) series_->RecordDegraded(FeatureSeries::Degraded::kStoreError);
  }
  absl::StatusOr<Computed> computed = Transform(pending, pending.raw, report->versions);
  if (computed.ok()) computed->degraded = unavailable;
  pending.done(std::move(computed));
}

void ServedFeatures::Expire(Pending& pending) const {
  if (series_) {
    series_->RecordUnavailable(static_cast<int64_t>(pending.job.rows.size()));
    series_->RecordDegraded(FeatureSeries::Degraded::kDeadline);
  }
  if (any_unavailable_policy_) {
    return pending.done(absl::UnavailableError(
        fmt::format("model '{}': its feature tables did not answer in time (feature timeout {} ms)",
                    model_, services_.timeout.count())));
  }
  // The lookup may still be writing pending.raw: read the request again.
  absl::StatusOr<features::RawRows> raw =
      ReadRawRows(*pipeline_, pending.job.inputs, pending.job.rows, model_);
  if (!raw.ok()) return pending.done(raw.status());
  absl::StatusOr<Computed> computed =
      Transform(pending, *raw, std::vector<int64_t>(pipeline_->definition().tables.size(), 0));
  if (computed.ok()) computed->degraded = true;
  pending.done(std::move(computed));
}

absl::StatusOr<ServedFeatures::Computed> ServedFeatures::Transform(
    const Pending& pending, const features::RawRows& raw,
    const std::vector<int64_t>& table_versions) const {
  features::FeatureCounters counters(pipeline_->definition().features.size());
  absl::StatusOr<std::vector<core::Tensor>> inputs = pipeline_->Assemble(raw, &counters);
  if (!inputs.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("model '{}': {}", model_, std::string(inputs.status().message())));
  }
  if (series_) {
    std::vector<int64_t> imputed(counters.size());
    for (size_t f = 0; f < counters.size(); ++f) imputed[f] = counters.imputed(f);
    series_->RecordImputed(imputed);
  }
  Computed computed;
  const bool log = services_.log != nullptr;
  if (pending.job.want_vectors || log) computed.vectors = Vectors(*inputs, raw.rows());
  if (log) Log(pending, raw, table_versions, computed.vectors);
  if (!pending.job.want_vectors) computed.vectors.clear();
  computed.inputs = *std::move(inputs);
  if (series_) series_->RecordStage(Clock::now() - pending.start);
  return computed;
}

std::vector<float> ServedFeatures::Vectors(const std::vector<core::Tensor>& inputs,
                                           size_t rows) const {
  const size_t width = pipeline_->width();
  std::vector<float> vectors(rows * width);
  size_t offset = 0;
  for (const core::Tensor& t : inputs) {
    const size_t w = rows == 0 ? 0 : t.data.size() / sizeof(float) / rows;
    for (size_t r = 0; r < rows; ++r) {
      std::memcpy(&vectors[r * width + offset], t.data.data() + r * w * sizeof(float),
                  w * sizeof(float));
    }
    offset += w;
  }
  return vectors;
}

void ServedFeatures::Log(const Pending& pending, const features::RawRows& raw,
                         const std::vector<int64_t>& table_versions,
                         std::span<const float> vectors) const {
  const features::FeatureDefinition& d = pipeline_->definition();
  const std::vector<Slot>& slots = pipeline_->slots();
  const size_t width = pipeline_->width();
  for (size_t r = 0; r < raw.rows(); ++r) {
    if (!services_.log->Sample()) continue;
    ServedFeatureRow row;
    row.ts = UnixNow();
    row.request_id = pending.job.request_id;
    row.model = model_;
    row.version = version_;
    row.vector = vectors.subspan(r * width, width);
    for (const features::Entity& entity : d.entities) {
      std::string key;
      for (const features::Column& column : entity.keys) {
        const features::FeatureValue& v = raw.At(r, pipeline_->SlotOf(entity.name, column.name));
        if (const auto* i = std::get_if<int64_t>(&v)) store::KeySchema::AppendInt(*i, key);
        if (const auto* s = std::get_if<std::string>(&v)) store::KeySchema::AppendBytes(*s, key);
      }
      row.entities.emplace_back(entity.name, services_.log->hasher().Hash(key));
    }
    for (size_t s = 0; s < slots.size(); ++s) {
      if (slots[s].source != Slot::Source::kRequest || features::IsMissing(raw.At(r, s))) continue;
      row.request.emplace_back(slots[s].column, raw.At(r, s));
    }
    for (size_t t = 0; t < d.tables.size(); ++t) {
      row.tables.emplace_back(d.tables[t].name, t < table_versions.size() ? table_versions[t] : 0);
    }
    services_.log->Write(FeatureLogLine(row));
  }
}

}  // namespace strata::serving
