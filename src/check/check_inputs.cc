#include "check/check_inputs.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "fmt/format.h"

namespace strata::check {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<std::string> ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("cannot read {}", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// <repository>/models/<model>/<version>, or the highest numbered version.
absl::StatusOr<fs::path> VersionDirectory(const CheckTarget& target, const fs::path& repository) {
  const fs::path model_dir = repository / "models" / target.model;
  if (!target.version.empty()) {
    const fs::path dir = model_dir / target.version;
    if (fs::is_directory(dir)) return dir;
    return absl::NotFoundError(fmt::format("no version directory {}", dir.string()));
  }
  std::error_code ec;
  int64_t highest = -1;
  for (const auto& entry : fs::directory_iterator(model_dir, ec)) {
    int64_t number = 0;
    if (entry.is_directory() && absl::SimpleAtoi(entry.path().filename().string(), &number)) {
      highest = std::max(highest, number);
    }
  }
  if (highest < 0) {
    return absl::NotFoundError(fmt::format("no version directory under {}", model_dir.string()));
  }
  return model_dir / std::to_string(highest);
}

std::vector<std::string> HeldoutLines(const std::string& text, size_t limit) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; lines.size() < limit && std::getline(in, line);) {
    if (!absl::StripAsciiWhitespace(line).empty()) lines.push_back(line);
  }
  return lines;
}

// Explicit path if given, else <version dir>/<name> if that exists, else empty.
fs::path Locate(const fs::path& given, const std::optional<fs::path>& version_dir,
                const char* name) {
  if (!given.empty()) return given;
  if (version_dir && fs::exists(*version_dir / name)) return *version_dir / name;
  return {};
}

absl::Status ReadStatistical(const CheckOptions& options, const std::optional<fs::path>& dir,
                             CheckInputs& inputs) {
  const fs::path heldout = Locate(options.heldout, dir, "check/heldout.jsonl");
  const fs::path reference = Locate(options.reference, dir, "check/reference.json");
  if (heldout.empty() || reference.empty()) {
    inputs.statistical_missing = fmt::format(
        "no {} (give --heldout and --reference, or put check/heldout.jsonl and "
        "check/reference.json in the version directory)",
        heldout.empty() ? "held-out rows" : "reference histogram");
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> heldout_text = ReadText(heldout);
  if (!heldout_text.ok()) return heldout_text.status();
  inputs.heldout = HeldoutLines(*heldout_text, options.heldout_rows);
  absl::StatusOr<std::string> reference_text = ReadText(reference);
  if (!reference_text.ok()) return reference_text.status();
  absl::StatusOr<ScoreHistogram> histogram = ParseScoreHistogram(*reference_text);
  if (!histogram.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: {}", reference.string(), std::string(histogram.status().message())));
  }
  inputs.reference = *std::move(histogram);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CheckInputs> ReadCheckInputs(const CheckTarget& target,
                                            const CheckOptions& options) {
  if (options.samples.empty() && options.repository.empty()) {
    return absl::InvalidArgumentError("give --samples FILE or --repository DIR");
  }
  std::optional<fs::path> dir;
  if (!options.repository.empty()) {
    absl::StatusOr<fs::path> found = VersionDirectory(target, options.repository);
    if (!found.ok()) return found.status();
    dir = *found;
  }
  const fs::path samples_path = Locate(options.samples, dir, "samples.json");
  if (samples_path.empty()) {
    return absl::NotFoundError(fmt::format("no samples.json in {}", dir->string()));
  }
  absl::StatusOr<std::string> text = ReadText(samples_path);
  if (!text.ok()) return text.status();
  absl::StatusOr<SampleSet> samples = ParseSampleSet(*text);
  if (!samples.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: {}", samples_path.string(), std::string(samples.status().message())));
  }
  CheckInputs inputs;
  inputs.samples = *std::move(samples);
  inputs.tolerance = options.tolerance.value_or(inputs.samples.tolerance.value_or(1e-5));
  if (absl::Status s = ReadStatistical(options, dir, inputs); !s.ok()) return s;
  return inputs;
}

}  // namespace strata::check
