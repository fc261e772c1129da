// Conversions between Python values and the feature pipeline's raw values,
// for the strata_features module: a dict of column name -> numpy array or
// sequence becomes SourceRows (each asked column found by the first of its
// names; None is missing), and RawRows become a dict of slot name -> list
// (None where missing). Needs the GIL.
#ifndef STRATA_FEATURES_PYTHON_PYTHON_ROWS_H_
#define STRATA_FEATURES_PYTHON_PYTHON_ROWS_H_

#include <span>
#include <vector>

#include "features/feature_pipeline.h"
#include "features/source_reader.h"
#include "pybind11/pybind11.h"

namespace strata::features::python {

// Throws ValueError naming the column when a value does not fit its type or
// the columns differ in length, KeyError when a required column is absent.
SourceRows ColumnsFromDict(const pybind11::dict& columns, std::span<const SourceColumn> wanted);

// The rows as a dict: slot name -> list.
pybind11::dict RawRowsToDict(const RawRows& rows, std::span<const Slot> slots);

}  // namespace strata::features::python

#endif  // STRATA_FEATURES_PYTHON_PYTHON_ROWS_H_
