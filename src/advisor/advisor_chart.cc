#include "advisor/advisor_chart.h"

#include <algorithm>
#include <cmath>

#include "core/text_escape.h"
#include "fmt/format.h"

namespace strata::advisor {
namespace {

constexpr double kWidth = 1040, kHeight = 500;
// Plot areas: map on the left, coverage on the right.
constexpr double kMapX = 70, kMapY = 70, kMapW = 400, kMapH = 330;
constexpr double kCovX = 590, kCovY = 70, kCovW = 400, kCovH = 330;

std::string_view Color(Plan plan) {
  switch (plan) {
    case Plan::kStatic:
      return "#4c78a8";
    case Plan::kHybrid:
      return "#59a14f";
    case Plan::kDynamic:
      return "#f28e2b";
  }
  return "#999999";
}

// "10" with a superscript exponent.
std::string PowerOfTen(int exponent) {
  return fmt::format("10<tspan dy=\"-6\" font-size=\"9\">{}</tspan>", exponent);
}

// The map's cells, each colored by the plan that wins there.
void MapCells(const PlanMap& map, std::string& svg) {
  const PlanMapOptions& o = map.options();
  const double cw = kMapW / o.columns, ch = kMapH / o.rows;
  svg += "<g shape-rendering=\"crispEdges\">\n";
  for (int row = 0; row < o.rows; ++row) {
    for (int column = 0; column < o.columns; ++column) {
      svg += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.2f}\" height=\"{:.2f}\" "
          "fill=\"{}\" fill-opacity=\"0.55\"/>\n",
          kMapX + column * cw, kMapY + kMapH - (row + 1) * ch, cw + 0.3, ch + 0.3,
          Color(map.cells()[row][column]));
    }
  }
  svg += "</g>\n";
}

// The map's frame, ticks, axis titles and panel title.
void MapAxes(const PlanMapOptions& o, std::string& svg) {
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n", kMapX,
      kMapY, kMapW, kMapH);
  const double span = o.max_log10_keys - o.min_log10_keys;
  for (int e = static_cast<int>(std::ceil(o.min_log10_keys)); e <= o.max_log10_keys; ++e) {
    const double x = kMapX + (e - o.min_log10_keys) / span * kMapW;
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#333\"/>"
        "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
        x, kMapY + kMapH, kMapY + kMapH + 5, kMapY + kMapH + 20, PowerOfTen(e));
  }
  for (int i = 0; i <= 4; ++i) {
    const double y = kMapY + kMapH - i / 4.0 * kMapH;
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#333\"/>"
        "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:.2f}</text>\n",
        kMapX - 5, y, kMapX, kMapX - 8, y + 4, i / 4.0);
  }
  svg += fmt::format(
      "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">cardinality (keys in the key space)</text>\n",
      kMapX + kMapW / 2, kMapY + kMapH + 42);
  svg += fmt::format(
      "<text transform=\"translate({},{}) rotate(-90)\" text-anchor=\"middle\">"
      "peakedness (1 − entropy / log2 keys)</text>\n",
      kMapX - 45, kMapY + kMapH / 2);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" font-weight=\"bold\">Where each plan wins</text>\n",
                     kMapX, kMapY - 12);
}

// The workload's point on the map, and the legend under it.
void MapPointAndLegend(const ChartInput& in, const PlanMapOptions& o, std::string& svg) {
  const double span = o.max_log10_keys - o.min_log10_keys;
  const double lx =
      std::clamp(std::log10(std::max(1.0, in.cardinality)), o.min_log10_keys, o.max_log10_keys);
  const double px = kMapX + (lx - o.min_log10_keys) / span * kMapW;
  const double py = kMapY + kMapH - std::clamp(in.peakedness, 0.0, 1.0) * kMapH;
  svg += fmt::format(
      "<circle cx=\"{0:.1f}\" cy=\"{1:.1f}\" r=\"7\" fill=\"#111\" stroke=\"#fff\" "
      "stroke-width=\"2\"/><text x=\"{2:.1f}\" y=\"{3:.1f}\" font-weight=\"bold\" "
      "text-anchor=\"{4}\" paint-order=\"stroke\" stroke=\"#fff\" stroke-width=\"3\">"
      "this workload</text>\n",
      px, py, px + (px > kMapX + kMapW * 0.7 ? -12 : 12), py + 4,
      px > kMapX + kMapW * 0.7 ? "end" : "start");
  double x = kMapX;
  for (Plan plan : {Plan::kStatic, Plan::kHybrid, Plan::kDynamic}) {
    svg += fmt::format(
        "<rect x=\"{0}\" y=\"{1}\" width=\"14\" height=\"14\" fill=\"{2}\" fill-opacity=\"0.7\"/>"
        "<text x=\"{3}\" y=\"{4}\">{5}</text>\n",
        x, kMapY + kMapH + 55, Color(plan), x + 19, kMapY + kMapH + 67, PlanName(plan));
    x += 100;
  }
}

void MapPanel(const ChartInput& in, std::string& svg) {
  MapCells(*in.map, svg);
  MapAxes(in.map->options(), svg);
  MapPointAndLegend(in, in.map->options(), svg);
}

// The coverage panel's scale: keys on a log axis up to the curve's total.
struct CoverageScale {
  double span;
  double X(double keys) const { return kCovX + std::log10(std::max(1.0, keys)) / span * kCovW; }
  double Y(double share) const { return kCovY + kCovH - share * kCovH; }
};

// The coverage panel's title, frame and grid.
void CoverageGrid(const CoverageScale& scale, std::string& svg) {
  svg += fmt::format(
      "<text x=\"{}\" y=\"{}\" font-weight=\"bold\">Coverage: share of requests taken by "
      "the top K keys</text>\n",
      kCovX, kCovY - 12);
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fafafa\" stroke=\"#333\"/>\n",
      kCovX, kCovY, kCovW, kCovH);
  for (int e = 0; e <= static_cast<int>(std::floor(scale.span)); ++e) {
    const double x = scale.X(std::pow(10.0, e));
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#ddd\"/>"
        "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
        x, kCovY, kCovY + kCovH, kCovY + kCovH + 20, PowerOfTen(e));
  }
  for (int i = 0; i <= 4; ++i) {
    const double y = scale.Y(i / 4.0);
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>"
        "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}%</text>\n",
        kCovX, y, kCovX + kCovW, kCovX - 8, y + 4, i * 25);
  }
}

// The expected curve (solid), the observed one (dashed) and their captions.
void CoverageCurves(const ChartInput& in, const CoverageScale& scale, std::string& svg) {
  auto path = [&](const CoverageCurve& c) {
    std::string d = fmt::format("M{:.1f},{:.1f}", scale.X(1), scale.Y(c.ShareAt(1)));
    for (const CoveragePoint& p : c.points()) {
      d += fmt::format(" L{:.1f},{:.1f}", scale.X(p.keys), scale.Y(p.share));
    }
    return d;
  };
  if (in.observed != nullptr) {
    svg += fmt::format(
        "<path d=\"{}\" fill=\"none\" stroke=\"#999\" stroke-width=\"1.5\" "
        "stroke-dasharray=\"4,3\"/>\n",
        path(*in.observed));
  }
  svg += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"#1f4e79\" stroke-width=\"2.5\"/>\n",
                     path(*in.coverage));
  svg += fmt::format(
      "<text x=\"{}\" y=\"{}\" fill=\"#555\" font-size=\"11\">solid: expected on new "
      "traffic{}</text>\n",
      kCovX + 8, kCovY + 16, in.observed != nullptr ? "; dashed: in hindsight" : "");
  svg +=
      fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">K (top keys, log scale)</text>\n",
                  kCovX + kCovW / 2, kCovY + kCovH + 42);
}

// The recommended hybrid table's size K and the share of requests it takes.
void CoverageMarker(const PlanEstimate& hybrid, const CoverageScale& scale, std::string& svg) {
  const double k = std::max(1.0, hybrid.table_keys);
  const double x = scale.X(k), y = scale.Y(hybrid.hit_rate);
  svg += fmt::format(
      "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"{3}\" "
      "stroke-dasharray=\"5,4\" stroke-width=\"1.5\"/>"
      "<line x1=\"{4}\" y1=\"{5:.1f}\" x2=\"{0:.1f}\" y2=\"{5:.1f}\" stroke=\"{3}\" "
      "stroke-dasharray=\"5,4\" stroke-width=\"1.5\"/>"
      "<circle cx=\"{0:.1f}\" cy=\"{5:.1f}\" r=\"5\" fill=\"{3}\"/>\n",
      x, kCovY, kCovY + kCovH, Color(Plan::kHybrid), kCovX, y);
  svg += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\" paint-order=\"stroke\" "
      "stroke=\"#fafafa\" stroke-width=\"3\">K = {} → {:.1f}% of requests</text>\n",
      x + (x > kCovX + kCovW * 0.6 ? -8 : 8), std::min(y + 18, kCovY + kCovH - 8),
      x > kCovX + kCovW * 0.6 ? "end" : "start", FormatCount(k), 100 * hybrid.hit_rate);
}

void CoveragePanel(const ChartInput& in, std::string& svg) {
  const CoverageScale scale{std::log10(std::max(10.0, in.coverage->total_keys()))};
  CoverageGrid(scale, svg);
  CoverageCurves(in, scale, svg);
  if (in.recommendation != nullptr) CoverageMarker(in.recommendation->hybrid, scale, svg);
}

}  // namespace

std::string RenderAdvisorChart(const ChartInput& in) {
  std::string svg = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n",
      kWidth, kHeight);
  svg += fmt::format("<text x=\"{}\" y=\"28\" font-size=\"16\" font-weight=\"bold\">{}</text>\n",
                     kMapX, core::HtmlEscape(in.title));
  if (in.map != nullptr) MapPanel(in, svg);
  if (in.coverage != nullptr) CoveragePanel(in, svg);
  if (in.recommendation != nullptr) {
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" font-size=\"13\">recommended: <tspan font-weight=\"bold\" "
        "fill=\"{}\">{}</tspan></text>\n",
        kCovX, kHeight - 30, Color(in.recommendation->chosen), PlanName(in.recommendation->chosen));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace strata::advisor
