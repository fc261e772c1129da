// The strata_features Python module: the C++ feature pipeline for training
// code, so that training never re-implements a transformation.
//
//   import strata_features as sf
//   definition = sf.load_definition("features.yaml", allow_unfitted=True)
//   joined = sf.join_point_in_time(definition, labels, {"user_stats": users, ...})
//   fitted = sf.fit(definition, joined["raw"])
//   pipeline = sf.Pipeline(fitted)
//   X, y, ts = sf.build_training_set(pipeline, labels, sources)
//   X = pipeline.transform(rows)          # numpy float32 [n, width]
//
// Rows are dicts of column name -> numpy array or list: a slot's column is
// found by its slot name ("user_stats.price") or its bare name ("price").
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "features/feature_definition.h"
#include "features/feature_pipeline.h"
#include "features/fitting.h"
#include "features/point_in_time.h"
#include "features/python/python_rows.h"
#include "features/source_reader.h"
#include "fmt/format.h"
#include "pybind11/numpy.h"
#include "pybind11/pybind11.h"
#include "pybind11/stl.h"

namespace py = pybind11;

namespace strata::features::python {
namespace {

template <typename T>
T OrThrow(absl::StatusOr<T> value) {
  if (!value.ok()) throw py::value_error(std::string(value.status().message()));
  return *std::move(value);
}

void OrThrow(const absl::Status& status) {
  if (!status.ok()) throw py::value_error(std::string(status.message()));
}

std::vector<std::string> SlotNames(const std::vector<Slot>& slots) {
  std::vector<std::string> names;
  for (const Slot& s : slots) names.push_back(s.Name());
  return names;
}

RawRows RowsOf(const py::dict& rows, const std::vector<Slot>& slots) {
  const std::vector<SourceColumn> columns = SlotColumns(slots, false);
  return RawRowsFromSource(ColumnsFromDict(rows, columns));
}

py::array_t<float> Transform(const FeaturePipeline& pipeline, const RawRows& raw) {
  const size_t width = pipeline.width();
  py::array_t<float> out({raw.rows(), width});
  float* data = out.mutable_data();
  absl::Status status;
  {
    py::gil_scoped_release release;
    for (size_t r = 0; r < raw.rows() && status.ok(); ++r) {
      status = pipeline.TransformRow(raw.Row(r), std::span<float>(data + r * width, width));
      if (!status.ok())
        status =
            absl::InvalidArgumentError(fmt::format("row {}: {}", r, std::string(status.message())));
    }
  }
  OrThrow(status);
  return out;
}

PointInTimeOptions JoinOptions(const std::string& timestamp, const std::string& label,
                               const std::string& event_time) {
  return {.timestamp_column = timestamp, .label_column = label, .event_time_column = event_time};
}

TrainingRows Join(const FeatureDefinition& definition, const py::dict& labels,
                  const py::dict& sources, const PointInTimeOptions& options) {
  const SourceRows label_rows = ColumnsFromDict(labels, LabelColumns(definition, options));
  std::map<std::string, SourceRows> tables;
  for (const FeatureTable& table : definition.tables) {
    if (!sources.contains(table.name)) continue;
    tables.emplace(table.name, ColumnsFromDict(sources[py::str(table.name)].cast<py::dict>(),
                                               TableSourceColumns(definition, table,
                                                                  options.event_time_column)));
  }
  return OrThrow(JoinPointInTime(definition, label_rows, tables, options));
}

py::tuple LabelsAndTimes(const TrainingRows& rows) {
  py::array_t<double> y(static_cast<py::ssize_t>(rows.labels.size()));
  std::copy(rows.labels.begin(), rows.labels.end(), y.mutable_data());
  py::array_t<int64_t> ts(static_cast<py::ssize_t>(rows.timestamps.size()));
  std::copy(rows.timestamps.begin(), rows.timestamps.end(), ts.mutable_data());
  return py::make_tuple(y, ts);
}

void DefineDefinition(py::module_& m) {
  py::class_<FeatureDefinition>(m, "Definition", "A parsed features.yaml")
      .def("to_yaml", &WriteFeatureDefinition, "The definition as features.yaml text")
      .def(
          "save",
          [](const FeatureDefinition& d, const std::string& path) {
            std::ofstream out(path);
            out << WriteFeatureDefinition(d);
            if (!out) throw py::value_error("cannot write " + path);
          },
          py::arg("path"))
      .def_property_readonly("slots",
                             [](const FeatureDefinition& d) { return SlotNames(SlotsOf(d)); })
      .def_property_readonly("tables", [](const FeatureDefinition& d) {
        std::vector<std::string> names;
        for (const FeatureTable& t : d.tables) names.push_back(t.name);
        return names;
      });
  m.def(
      "load_definition",
      [](const std::string& path, bool allow_unfitted) {
        return OrThrow(LoadFeatureDefinition(path, allow_unfitted));
      },
      py::arg("path"), py::arg("allow_unfitted") = false, "Reads and checks a features.yaml");
  m.def(
      "parse_definition",
      [](const std::string& yaml, bool allow_unfitted) {
        return OrThrow(ParseFeatureDefinition(yaml, allow_unfitted));
      },
      py::arg("yaml"), py::arg("allow_unfitted") = false);
  m.def(
      "fit",
      [](const FeatureDefinition& d, const py::dict& rows) {
        return OrThrow(Fit(d, RowsOf(rows, SlotsOf(d))));
      },
      py::arg("definition"), py::arg("rows"),
      "The definition with its fitted parameters computed from rows (by slot name)");
}

// The pipeline as Python holds it (pybind11 takes no holder of a const type).
struct PyPipeline {
  std::shared_ptr<const FeaturePipeline> pipeline;
};

void DefinePipeline(py::module_& m) {
  py::class_<PyPipeline>(m, "Pipeline", "The feature pipeline of strata")
      .def(py::init([](const FeatureDefinition& d) {
             return PyPipeline{OrThrow(FeaturePipeline::Create(d))};
           }),
           py::arg("definition"))
      .def_static(
          "load",
          [](const std::string& path) {
            return PyPipeline{
                OrThrow(FeaturePipeline::Create(OrThrow(LoadFeatureDefinition(path))))};
          },
          py::arg("path"))
      .def_property_readonly("width", [](const PyPipeline& p) { return p.pipeline->width(); })
      .def_property_readonly("slots",
                             [](const PyPipeline& p) { return SlotNames(p.pipeline->slots()); })
      .def_property_readonly("definition",
                             [](const PyPipeline& p) { return p.pipeline->definition(); })
      .def("column_names", [](const PyPipeline& p) { return p.pipeline->ColumnNames(); })
      .def(
          "transform",
          [](const PyPipeline& p, const py::dict& rows) {
            return Transform(*p.pipeline, RowsOf(rows, p.pipeline->slots()));
          },
          py::arg("rows"), "Rows (dict of column -> values) to float32 [n, width]");
}

void DefineTrainingSets(py::module_& m) {
  m.def(
      "join_point_in_time",
      [](const FeatureDefinition& d, const py::dict& labels, const py::dict& sources,
         const std::string& timestamp, const std::string& label, const std::string& event_time) {
        const TrainingRows rows =
            Join(d, labels, sources, JoinOptions(timestamp, label, event_time));
        py::tuple yts = LabelsAndTimes(rows);
        py::dict out;
        out["raw"] = RawRowsToDict(rows.raw, SlotsOf(d));
        out["y"] = yts[0];
        out["ts"] = yts[1];
        return out;
      },
      py::arg("definition"), py::arg("labels"), py::arg("sources"), py::arg("timestamp") = "ts",
      py::arg("label") = "label", py::arg("event_time") = "event_time",
      "Each label row joined to every table's values as of its timestamp: {raw, y, ts}");
  m.def(
      "build_training_set",
      [](const PyPipeline& p, const py::dict& labels, const py::dict& sources,
         const std::string& timestamp, const std::string& label, const std::string& event_time) {
        const TrainingRows rows = Join(p.pipeline->definition(), labels, sources,
                                       JoinOptions(timestamp, label, event_time));
        py::tuple yts = LabelsAndTimes(rows);
        return py::make_tuple(Transform(*p.pipeline, rows.raw), yts[0], yts[1]);
      },
      py::arg("pipeline"), py::arg("labels"), py::arg("sources"), py::arg("timestamp") = "ts",
      py::arg("label") = "label", py::arg("event_time") = "event_time",
      "The point-in-time training set: (X float32 [n, width], y, ts)");
}

}  // namespace
}  // namespace strata::features::python

PYBIND11_MODULE(strata_features, m) {
  m.doc() = "strata's feature pipeline: the same C++ code as strata serve and strata batch";
  strata::features::python::DefineDefinition(m);
  strata::features::python::DefinePipeline(m);
  strata::features::python::DefineTrainingSets(m);
}
