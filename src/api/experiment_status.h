// The status page's experiments section: per endpoint with feedback or a
// shadow, the feedback joined per arm and version (accuracy or mean reward)
// and each shadow pair's agreement and dropped copies. HTML, no scripts.
// Pure function of the Experiments' state; thread-safe.
#ifndef STRATA_API_EXPERIMENT_STATUS_H_
#define STRATA_API_EXPERIMENT_STATUS_H_

#include <string>

#include "serving/experiment/experiments.h"

namespace strata::api {

// Appends the section to `out`; nothing when no endpoint has an experiment.
void AppendExperimentSection(const serving::Experiments& experiments, std::string& out);

}  // namespace strata::api

#endif  // STRATA_API_EXPERIMENT_STATUS_H_
