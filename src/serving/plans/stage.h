// A Stage is one step of a plan over a RowBatch (serving/plans/row_batch.h):
// it answers some of the rows still unanswered and leaves the rest to the
// next stage. A plan is an ordered list of stages (StageList); static,
// hybrid and dynamic endpoints are lists of TableStage, CacheStage,
// ModelStage and DefaultStage (serving/plans/plan_builder.h). A stage may
// complete asynchronously (a Redis table on its store's threads, a model on
// its batcher's): it calls `next` exactly once, on any thread, with OK to go
// on or an error that ends the request. Stages are immutable once built and
// thread-safe; a batch is used by one stage at a time.
#ifndef STRATA_SERVING_PLANS_STAGE_H_
#define STRATA_SERVING_PLANS_STAGE_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "serving/plans/row_batch.h"

namespace strata::serving {

class Stage {
 public:
  using Next = std::function<void(absl::Status)>;

  virtual ~Stage() = default;

  // Answers rows of `batch` whose layer is still kNone, then calls `next`.
  virtual void Run(std::shared_ptr<RowBatch> batch, Next next) const = 0;
};

// The stages of one plan, run in order; a stage that fails ends the run.
class StageList {
 public:
  StageList() = default;
  explicit StageList(std::vector<std::unique_ptr<Stage>> stages) : stages_(std::move(stages)) {}

  // Runs every stage over `batch`, then calls `done` exactly once.
  void Run(std::shared_ptr<RowBatch> batch, Stage::Next done) const {
    RunFrom(0, std::move(batch), std::move(done));
  }

  size_t size() const { return stages_.size(); }
  bool empty() const { return stages_.empty(); }

 private:
  void RunFrom(size_t index, std::shared_ptr<RowBatch> batch, Stage::Next done) const {
    if (index == stages_.size()) return done(absl::OkStatus());
    const Stage& stage = *stages_[index];
    stage.Run(batch, [this, index, batch, done = std::move(done)](absl::Status status) mutable {
      if (!status.ok()) return done(std::move(status));
      RunFrom(index + 1, std::move(batch), std::move(done));
    });
  }

  std::vector<std::unique_ptr<Stage>> stages_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_PLANS_STAGE_H_
