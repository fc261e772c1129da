#include "api/experiment_json.h"

#include <cmath>

#include "api/json_writing.h"
#include "fmt/format.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace strata::api {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

absl::StatusOr<serving::Feedback> DecodeItem(const rapidjson::Value& v, size_t index) {
  auto invalid = [&](std::string_view what) {
    return absl::InvalidArgumentError(fmt::format("feedback {}: {}", index + 1, what));
  };
  if (!v.IsObject())
    return invalid("must be an object {\"id\": ..., \"label\" or \"reward\": ...}");
  for (const auto& m : v.GetObject()) {
    const std::string_view key(m.name.GetString(), m.name.GetStringLength());
    if (key != "id" && key != "row" && key != "label" && key != "reward") {
      return invalid(fmt::format("unknown key '{}'; known: id, row, label, reward", key));
    }
  }
  if (!v.HasMember("id") || !v["id"].IsString()) return invalid("needs a string \"id\"");
  serving::Feedback f{.id = std::string(v["id"].GetString(), v["id"].GetStringLength())};
  if (v.HasMember("label") == v.HasMember("reward")) return invalid("give label or reward");
  if (v.HasMember("label")) {
    if (!v["label"].IsNumber()) return invalid("label must be a number");
    f.label = v["label"].GetDouble();
  } else {
    if (!v["reward"].IsNumber()) return invalid("reward must be a number");
    f.reward = v["reward"].GetDouble();
  }
  if (v.HasMember("row")) {
    if (!v["row"].IsUint64()) return invalid("row must be a row index >= 0");
    f.row = static_cast<size_t>(v["row"].GetUint64());
  }
  return f;
}

void WriteFigures(Writer& w, const serving::ArmFigures& f) {
  auto number = [&](const char* key, double value) {
    w.Key(key);
    if (std::isfinite(value)) {
      w.Double(value);
    } else {
      w.Null();
    }
  };
  auto count = [&](const char* key, uint64_t value) {
    w.Key(key);
    w.Uint64(value);
  };
  w.Key("arm");
  WriteString(w, f.arm);
  w.Key("version");
  WriteString(w, f.version);
  count("labels", f.labels);
  count("correct", f.correct);
  number("log_loss_sum", f.log_loss_sum);
  count("positives", f.positives);
  count("negatives", f.negatives);
  number("auc", f.auc);
  count("regression_labels", f.regression_labels);
  number("abs_error_sum", f.abs_error_sum);
  number("abs_error_square_sum", f.abs_error_square_sum);
  count("rewards", f.rewards);
  number("reward_sum", f.reward_sum);
  number("reward_square_sum", f.reward_square_sum);
}

void WriteShadowTraffic(Writer& w, const serving::ShadowTraffic& t) {
  w.StartObject();
  w.Key("shadow");
  WriteString(w, t.shadow);
  w.Key("requests");
  w.Uint64(t.requests);
  w.Key("dropped");
  w.Uint64(t.dropped);
  w.Key("dropped_by");
  w.StartObject();
  w.Key("queue_full");
  w.Uint64(t.queue_full);
  w.Key("primary_busy");
  w.Uint64(t.primary_busy);
  w.Key("over_budget");
  w.Uint64(t.over_budget);
  w.EndObject();
  w.Key("errors");
  w.Uint64(t.errors);
  w.EndObject();
}

void WriteShadows(Writer& w, const serving::ExperimentReport& report) {
  w.Key("shadow_traffic");
  w.StartArray();
  for (const serving::ShadowTraffic& t : report.shadow_traffic) WriteShadowTraffic(w, t);
  w.EndArray();
  w.Key("shadows");
  w.StartArray();
  for (const serving::ShadowPairStats& s : report.shadows) {
    w.StartObject();
    w.Key("primary");
    WriteString(w, s.primary);
    w.Key("shadow");
    WriteString(w, s.shadow);
    w.Key("rows");
    w.Uint64(s.rows);
    w.Key("disagreeing_rows");
    w.Uint64(s.disagreeing_rows);
    w.Key("disagreement");
    w.Double(s.rows == 0 ? 0.0
                         : static_cast<double>(s.disagreeing_rows) / static_cast<double>(s.rows));
    w.Key("score_difference_mean");
    w.Double(s.rows == 0 ? 0.0 : s.score_difference_sum / static_cast<double>(s.rows));
    w.Key("score_difference_buckets");
    w.StartArray();
    for (size_t b = 0; b < s.score_difference_buckets.size(); ++b) {
      w.StartObject();
      w.Key("le");
      if (b < std::size(serving::kScoreDifferenceBounds)) {
        w.Double(serving::kScoreDifferenceBounds[b]);
      } else {
        w.String("+Inf");
      }
      w.Key("rows");
      w.Uint64(s.score_difference_buckets[b]);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
}

uint64_t U64(const rapidjson::Value& v, const char* key) {
  return v.HasMember(key) && v[key].IsUint64() ? v[key].GetUint64() : 0;
}

double Dbl(const rapidjson::Value& v, const char* key) {
  return v.HasMember(key) && v[key].IsNumber() ? v[key].GetDouble() : std::nan("");
}

std::string Str(const rapidjson::Value& v, const char* key) {
  return v.HasMember(key) && v[key].IsString() ? v[key].GetString() : "";
}

serving::ArmFigures DecodeArm(const rapidjson::Value& v) {
  return {.arm = Str(v, "arm"),
          .version = Str(v, "version"),
          .labels = U64(v, "labels"),
          .correct = U64(v, "correct"),
          .log_loss_sum = Dbl(v, "log_loss_sum"),
          .positives = U64(v, "positives"),
          .negatives = U64(v, "negatives"),
          .auc = Dbl(v, "auc"),
          .regression_labels = U64(v, "regression_labels"),
          .abs_error_sum = Dbl(v, "abs_error_sum"),
          .abs_error_square_sum = Dbl(v, "abs_error_square_sum"),
          .rewards = U64(v, "rewards"),
          .reward_sum = Dbl(v, "reward_sum"),
          .reward_square_sum = Dbl(v, "reward_square_sum")};
}

}  // namespace

absl::StatusOr<FeedbackBody> DecodeFeedback(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::InvalidArgumentError(
        "feedback must be a JSON object: {\"id\": ..., \"label\" or \"reward\": ...} or "
        "{\"feedback\": [...]}");
  }
  FeedbackBody out;
  if (!doc.HasMember("feedback")) {
    absl::StatusOr<serving::Feedback> one = DecodeItem(doc, 0);
    if (!one.ok()) return one.status();
    out.items.push_back(*std::move(one));
    return out;
  }
  out.list = true;
  if (!doc["feedback"].IsArray() || doc.MemberCount() != 1) {
    return absl::InvalidArgumentError("\"feedback\" must be the body's only key, a list");
  }
  const auto& list = doc["feedback"].GetArray();
  if (list.Size() > kMaxFeedbackItems) {
    return absl::InvalidArgumentError(fmt::format("at most {} feedback items per request; got {}",
                                                  kMaxFeedbackItems, list.Size()));
  }
  for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
    absl::StatusOr<serving::Feedback> item = DecodeItem(list[i], i);
    if (!item.ok()) return item.status();
    out.items.push_back(*std::move(item));
  }
  return out;
}

std::string EncodeFeedbackCounts(size_t joined, size_t unmatched,
                                 const std::vector<std::string>& errors) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("joined");
  w.Uint64(joined);
  w.Key("unmatched");
  w.Uint64(unmatched);
  w.Key("errors");
  w.StartArray();
  for (const std::string& e : errors) WriteString(w, e);
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

std::string EncodeExperimentReport(const serving::ExperimentReport& report) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("endpoint");
  WriteString(w, report.endpoint);
  w.Key("feedback");
  w.Bool(report.feedback);
  w.Key("task");
  w.String(report.task == serving::FeedbackTask::kRegression ? "regression" : "classification");
  w.Key("predictions_kept");
  w.Uint64(report.predictions_kept);
  w.Key("feedback_joined");
  w.Uint64(report.feedback_joined);
  w.Key("feedback_unmatched");
  w.Uint64(report.feedback_unmatched);
  w.Key("arms");
  w.StartArray();
  for (const serving::ArmOutcomes& arm : report.arms) {
    w.StartObject();
    WriteFigures(w, serving::FiguresOf(arm.arm, arm.version, arm.sums));
    w.EndObject();
  }
  w.EndArray();
  WriteShadows(w, report);
  w.EndObject();
  return buffer.GetString();
}

absl::StatusOr<ExperimentFigures> DecodeExperimentReport(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("arms") || !doc["arms"].IsArray()) {
    return absl::InvalidArgumentError("not an experiment report (no \"arms\" list)");
  }
  ExperimentFigures figures{.endpoint = Str(doc, "endpoint"),
                            .task = Str(doc, "task") == "regression"
                                        ? serving::FeedbackTask::kRegression
                                        : serving::FeedbackTask::kClassification,
                            .joined = U64(doc, "feedback_joined"),
                            .unmatched = U64(doc, "feedback_unmatched")};
  for (const auto& v : doc["arms"].GetArray()) figures.arms.push_back(DecodeArm(v));
  return figures;
}

}  // namespace strata::api
