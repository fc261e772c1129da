#include "features/python/python_rows.h"

#include <cmath>
#include <string>

#include "fmt/format.h"
#include "pybind11/numpy.h"

namespace py = pybind11;

namespace strata::features::python {
namespace {

FeatureValue ToValue(const py::handle& item, ValueType type, const std::string& column) {
  if (item.is_none()) return FeatureValue{};
  switch (type) {
    case ValueType::kString:
      if (py::isinstance<py::str>(item) || py::isinstance<py::bytes>(item)) {
        return FeatureValue{item.cast<std::string>()};
      }
      break;
    case ValueType::kInt64:
      if (py::isinstance<py::float_>(item)) {
        const double d = item.cast<double>();
        if (std::isnan(d)) return FeatureValue{};  // pandas' missing integer
        if (std::trunc(d) == d) return FeatureValue{static_cast<int64_t>(d)};
        break;
      }
      if (py::hasattr(item, "__index__")) return FeatureValue{item.cast<int64_t>()};
      break;
    case ValueType::kFloat64:
      if (py::isinstance<py::float_>(item) || py::hasattr(item, "__float__")) {
        return FeatureValue{item.cast<double>()};
      }
      break;
  }
  throw py::value_error(fmt::format("column '{}': {} is not {}", column,
                                    py::repr(item).cast<std::string>(), ValueTypeName(type)));
}

// Fast paths for numeric numpy arrays; everything else element by element.
std::vector<FeatureValue> ToColumn(const py::handle& values, ValueType type,
                                   const std::string& column) {
  std::vector<FeatureValue> out;
  if (py::isinstance<py::array>(values)) {
    const py::array array = py::reinterpret_borrow<py::array>(values);
    const char kind = array.dtype().kind();
    if (type == ValueType::kFloat64 && (kind == 'f' || kind == 'i' || kind == 'u')) {
      auto doubles = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(array);
      auto view = doubles.unchecked<1>();
      out.reserve(view.shape(0));
      for (py::ssize_t i = 0; i < view.shape(0); ++i) out.emplace_back(view(i));
      return out;
    }
    if (type == ValueType::kInt64 && (kind == 'i' || kind == 'u')) {
      auto ints = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(array);
      auto view = ints.unchecked<1>();
      out.reserve(view.shape(0));
      for (py::ssize_t i = 0; i < view.shape(0); ++i) out.emplace_back(view(i));
      return out;
    }
  }
  for (const py::handle item : values) out.push_back(ToValue(item, type, column));
  return out;
}

}  // namespace

SourceRows ColumnsFromDict(const py::dict& columns, std::span<const SourceColumn> wanted) {
  SourceRows rows;
  bool sized = false;
  for (const SourceColumn& c : wanted) {
    rows.names.push_back(c.names.front());
    rows.columns.emplace_back();
    rows.present.push_back(0);
    for (const std::string& name : c.names) {
      if (!columns.contains(name)) continue;
      rows.columns.back() = ToColumn(columns[py::str(name)], c.type, name);
      rows.present.back() = 1;
      if (sized && rows.columns.back().size() != rows.rows) {
        throw py::value_error(fmt::format("column '{}' has {} values, others have {}", name,
                                          rows.columns.back().size(), rows.rows));
      }
      rows.rows = rows.columns.back().size();
      sized = true;
      break;
    }
    if (!rows.present.back() && c.required) {
      throw py::key_error(fmt::format("no column '{}'", c.names.front()));
    }
  }
  for (size_t c = 0; c < wanted.size(); ++c) {
    if (!rows.present[c]) rows.columns[c].resize(rows.rows);
  }
  return rows;
}

py::dict RawRowsToDict(const RawRows& rows, std::span<const Slot> slots) {
  py::dict out;
  for (size_t s = 0; s < slots.size(); ++s) {
    py::list column(rows.rows());
    for (size_t r = 0; r < rows.rows(); ++r) {
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
              column[r] = py::none();
            } else {
              column[r] = py::cast(v);
            }
          },
          rows.At(r, s));
    }
    out[py::str(slots[s].Name())] = column;
  }
  return out;
}

}  // namespace strata::features::python
