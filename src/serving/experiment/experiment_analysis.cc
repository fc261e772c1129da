#include "serving/experiment/experiment_analysis.h"

#include <cmath>

namespace strata::serving {
namespace {

std::string ArmName(const ArmFigures& f) {
  return f.arm.empty() ? f.version : f.arm + "@" + f.version;
}

WindowOutcome Mean(uint64_t n, double sum, double square_sum) {
  return MeanAndVariance(n, sum, square_sum);
}

ArmAnalysis AnalyzeArm(const ArmFigures& f) {
  ArmAnalysis a{.name = ArmName(f), .figures = {}};
  if (f.labels > 0) {
    a.figures.push_back({Figure::kAccuracy, f.labels, WilsonInterval(f.correct, f.labels)});
    const double log_loss = f.log_loss_sum / static_cast<double>(f.labels);
    a.figures.push_back({Figure::kLogLoss, f.labels, {log_loss, log_loss, log_loss}});
  }
  if (f.positives > 0 && f.negatives > 0 && std::isfinite(f.auc)) {
    a.figures.push_back(
        {Figure::kAuc, f.positives + f.negatives, AucInterval(f.auc, f.positives, f.negatives)});
  }
  if (f.regression_labels > 0) {
    const WindowOutcome m = Mean(f.regression_labels, f.abs_error_sum, f.abs_error_square_sum);
    a.figures.push_back({Figure::kMeanAbsoluteError, f.regression_labels,
                         MeanInterval(m.mean_loss, m.variance, m.count)});
  }
  if (f.rewards > 0) {
    const WindowOutcome m = Mean(f.rewards, f.reward_sum, f.reward_square_sum);
    a.figures.push_back(
        {Figure::kMeanReward, f.rewards, MeanInterval(m.mean_loss, m.variance, m.count)});
  }
  return a;
}

void Compare(const ArmFigures& base, const ArmFigures& arm, std::vector<ArmDifference>& out) {
  const std::string b = ArmName(base);
  const std::string a = ArmName(arm);
  if (base.labels > 0 && arm.labels > 0) {
    const double pa = static_cast<double>(arm.correct) / static_cast<double>(arm.labels);
    const double pb = static_cast<double>(base.correct) / static_cast<double>(base.labels);
    out.push_back({b, a, Figure::kAccuracy, pa - pb,
                   TwoProportionZTest(arm.correct, arm.labels, base.correct, base.labels)});
  }
  auto welch = [&](Figure figure, uint64_t nb, double sb, double qb, uint64_t na, double sa,
                   double qa) {
    if (na < 2 || nb < 2) return;
    const WindowOutcome mb = Mean(nb, sb, qb);
    const WindowOutcome ma = Mean(na, sa, qa);
    out.push_back({b, a, figure, ma.mean_loss - mb.mean_loss,
                   WelchTTest(ma.mean_loss, ma.variance, na, mb.mean_loss, mb.variance, nb)});
  };
  welch(Figure::kMeanAbsoluteError, base.regression_labels, base.abs_error_sum,
        base.abs_error_square_sum, arm.regression_labels, arm.abs_error_sum,
        arm.abs_error_square_sum);
  welch(Figure::kMeanReward, base.rewards, base.reward_sum, base.reward_square_sum, arm.rewards,
        arm.reward_sum, arm.reward_square_sum);
}

}  // namespace

std::string_view FigureName(Figure figure) {
  switch (figure) {
    case Figure::kAccuracy:
      return "accuracy";
    case Figure::kAuc:
      return "auc";
    case Figure::kLogLoss:
      return "log_loss";
    case Figure::kMeanAbsoluteError:
      return "mean_absolute_error";
    case Figure::kMeanReward:
      return "mean_reward";
  }
  return "";
}

ExperimentAnalysis Analyze(const std::vector<ArmFigures>& arms) {
  ExperimentAnalysis analysis;
  for (const ArmFigures& arm : arms) analysis.arms.push_back(AnalyzeArm(arm));
  for (size_t i = 1; i < arms.size(); ++i) Compare(arms[0], arms[i], analysis.differences);
  return analysis;
}

}  // namespace strata::serving
