// What a feedback label means for an endpoint's predictions: a class
// (compared with the predicted class; accuracy, log loss, AUC) or a number
// (compared with the prediction; absolute error). Leaf header.
#ifndef STRATA_SERVING_EXPERIMENT_FEEDBACK_TASK_H_
#define STRATA_SERVING_EXPERIMENT_FEEDBACK_TASK_H_

namespace strata::serving {

enum class FeedbackTask { kClassification, kRegression };

}  // namespace strata::serving

#endif  // STRATA_SERVING_EXPERIMENT_FEEDBACK_TASK_H_
