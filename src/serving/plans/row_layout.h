// How a plan lays out a row's answer: the model's outputs (hybrid,
// dynamic) or the table's (static), and where they sit in a table row.
// Endpoints compute a RowLayout once per pair of versions. Pure functions;
// thread-safe.
#ifndef STRATA_SERVING_PLANS_ROW_LAYOUT_H_
#define STRATA_SERVING_PLANS_ROW_LAYOUT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/model_config.h"
#include "serving/plans/row_batch.h"
#include "store/table_manifest.h"

namespace strata::serving {

// A static plan's layout: the table's outputs, a table row being a row.
std::shared_ptr<const RowLayout> TableLayout(const store::TableManifest& manifest);

// A model's layout (its outputs, each of a fixed size per row), with the
// cache prefix of `version`, using `table` when it was produced by that model
// version and has its outputs. FAILED_PRECONDITION for an output without a
// fixed size per row.
absl::StatusOr<std::shared_ptr<const RowLayout>> ModelLayout(const runtime::ModelConfig& config,
                                                             const std::string& model,
                                                             int64_t version,
                                                             const store::TableManifest* table);

}  // namespace strata::serving

#endif  // STRATA_SERVING_PLANS_ROW_LAYOUT_H_
