// ModelLoader turns a model's directory into a running model: it reads and
// checks config.yaml, finds the backend it names, loads one version through
// the backend's factory and, when asked, runs its warm-up. It is the one
// place models are loaded: by `strata serve` (ModelManager), `strata batch`
// and `strata advise`. A version whose directory holds a features.yaml also
// gets its feature pipeline (LoadFeatures). It keeps nothing between calls.
// Thread-safe.
//
// Statuses carry the client-facing message; a backend library's own error
// text stays attached as a payload (runtime/library_error.h) for the log.
#ifndef STRATA_SERVING_LIFECYCLE_MODEL_LOADER_H_
#define STRATA_SERVING_LIFECYCLE_MODEL_LOADER_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/backend_registry.h"
#include "runtime/model.h"
#include "runtime/model_config.h"
#include "serving/served_features.h"
#include "serving/warmup.h"
#include "store/artifact_verifier.h"

namespace strata::serving {

// A model's checked config and the platform of the backend it names.
struct ModelSpec {
  runtime::ModelConfig config;
  std::string platform;  // e.g. "pytorch_torchscript"
};

// One loaded version with its spec.
struct LoadedModel {
  ModelSpec spec;
  int64_t version = 0;
  std::unique_ptr<runtime::Model> model;
};

class ModelLoader {
 public:
  // `backends` must outlive the loader. Without a reader, a warm-up from a
  // samples file fails (generated warm-up needs none).
  // Versions with a features.yaml get their pipeline with `features`.
  // Every version's files are checked against its SHA256SUMS first
  // (store/artifact_verifier.h); `verifier` null: checksums only, no key.
  explicit ModelLoader(const runtime::BackendRegistry& backends, WarmupReader warmup_reader = {},
                       FeatureServices features = {},
                       std::shared_ptr<const store::ArtifactVerifier> verifier = nullptr)
      : backends_(backends),
        warmup_reader_(std::move(warmup_reader)),
        features_(std::move(features)),
        verifier_(verifier ? std::move(verifier)
                           : std::make_shared<const store::ArtifactVerifier>()) {}
  virtual ~ModelLoader() = default;

  // Parses `model_dir`/config.yaml for the model `name` and checks that its
  // backend is registered.
  virtual absl::StatusOr<ModelSpec> ReadSpec(const std::filesystem::path& model_dir,
                                             const std::string& name) const;

  // Loads `version` from `model_dir`/<version>, then runs the warm-up
  // `spec` asks for when `warm_up`. The message names the version
  // ("version 3 failed to load: ..."); a file that does not match the
  // version's SHA256SUMS, or a bad signature, refuses it before the backend
  // sees it.
  virtual absl::StatusOr<std::unique_ptr<runtime::Model>> LoadVersion(
      const ModelSpec& spec, const std::filesystem::path& model_dir, int64_t version,
      bool warm_up) const;

  // The feature pipeline of `version` when its directory holds a
  // features.yaml, else null. An error (a malformed or unfitted
  // definition, outputs that are not the model's inputs, a feature table
  // whose open version does not match) refuses the version ("version 3
  // failed to load: features.yaml: ...").
  virtual absl::StatusOr<std::shared_ptr<const ServedFeatures>> LoadFeatures(
      const ModelSpec& spec, const std::filesystem::path& model_dir, int64_t version) const;

  // ReadSpec, then LoadVersion of `version`, or of the highest version
  // directory when `version` is 0; no warm-up (batch and advise).
  absl::StatusOr<LoadedModel> LoadNewest(const std::filesystem::path& model_dir,
                                         const std::string& name, int64_t version = 0) const;

 private:
  const runtime::BackendRegistry& backends_;
  const WarmupReader warmup_reader_;
  const FeatureServices features_;
  const std::shared_ptr<const store::ArtifactVerifier> verifier_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_LIFECYCLE_MODEL_LOADER_H_
