// TableStage answers the rows whose key is in the batch's table version
// (layer `table`), copying the table's bytes into each row's answer by the
// batch's RowLayout. The lookup is one MultiGetAsync: a Redis table answers
// on its store's own threads, and the plan goes on from there. When the
// store cannot be asked (unreachable, or its circuit breaker open) the
// stage either fails the request with UNAVAILABLE or marks the batch
// `degraded` and leaves every row to the next stage, as configured. A batch
// without a table (or whose layout does not use it) passes through.
// Thread-safe.
#ifndef STRATA_SERVING_PLANS_TABLE_STAGE_H_
#define STRATA_SERVING_PLANS_TABLE_STAGE_H_

#include "serving/plans/layer_recorder.h"
#include "serving/plans/stage.h"

namespace strata::serving {

class TableStage : public Stage {
 public:
  // `recorder` must outlive the stage.
  TableStage(const LayerRecorder& recorder, bool fail_when_unavailable)
      : recorder_(recorder), fail_when_unavailable_(fail_when_unavailable) {}

  void Run(std::shared_ptr<RowBatch> batch, Next next) const override;

 private:
  absl::Status Take(RowBatch& batch, const absl::StatusOr<store::LookupResult>& got,
                    RowBatch::Clock::time_point start) const;

  const LayerRecorder& recorder_;
  const bool fail_when_unavailable_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_PLANS_TABLE_STAGE_H_
