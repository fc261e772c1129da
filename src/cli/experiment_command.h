// `strata experiment report ENDPOINT --url URL [--json]`: reads a running
// server's experiment report (GET /v2/models/{endpoint}/experiment) and
// prints each arm and version's figures with 95% intervals and whether each
// arm differs significantly from the first (docs/serving.md: Feedback and
// experiment reports).
#ifndef STRATA_CLI_EXPERIMENT_COMMAND_H_
#define STRATA_CLI_EXPERIMENT_COMMAND_H_

#include <string>

#include "CLI/CLI.hpp"
#include "serving/experiment/experiment_analysis.h"

namespace strata::cli {

void AddExperimentCommand(CLI::App& app);

// The analysis as text (a table) or as JSON.
std::string AnalysisText(const std::string& endpoint, const serving::ExperimentAnalysis& analysis);
std::string AnalysisJson(const std::string& endpoint, const serving::ExperimentAnalysis& analysis);

}  // namespace strata::cli

#endif  // STRATA_CLI_EXPERIMENT_COMMAND_H_
