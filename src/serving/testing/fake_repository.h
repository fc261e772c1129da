// Test helpers: a fake "doubling" backend (y = 2x, FP32) and a temporary
// model repository with a good model and broken ones, for tests of the
// serving core and of the frontends that sit on it. Test-only code.
#ifndef STRATA_SERVING_TESTING_FAKE_REPOSITORY_H_
#define STRATA_SERVING_TESTING_FAKE_REPOSITORY_H_

#include <filesystem>
#include <fstream>
#include <memory>
#include <string_view>

#include "runtime/backend_registry.h"

namespace strata::serving::testing {

class DoublingModel : public runtime::Model {
 public:
  absl::StatusOr<std::vector<core::Tensor>> Run(std::span<const core::Tensor> inputs) override {
    core::Tensor out = core::Tensor::Zeros("y", core::DataType::kFp32, inputs[0].shape);
    auto in = inputs[0].As<float>();
    auto dst = out.MutableAs<float>();
    for (size_t i = 0; i < in.size(); ++i) dst[i] = 2 * in[i];
    return std::vector<core::Tensor>{std::move(out)};
  }
};

// Backend "doubling"; loading fails when the version directory holds a file
// named "corrupt".
inline runtime::BackendRegistry FakeBackends() {
  runtime::BackendRegistry registry;
  registry.Register({"doubling", "fake_doubling",
                     [](const runtime::ModelConfig&, const std::filesystem::path& dir)
                         -> absl::StatusOr<std::unique_ptr<runtime::Model>> {
                       if (std::filesystem::exists(dir / "corrupt")) {
                         return absl::InvalidArgumentError("artifact is corrupt");
                       }
                       return std::make_unique<DoublingModel>();
                     }});
  return registry;
}

inline constexpr char kDoublingConfig[] = R"(
backend: doubling
max_batch_size: 4
inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]
outputs: [{name: y, datatype: FP32, shape: [-1, 2]}]
)";

inline void WriteFile(const std::filesystem::path& path, std::string_view text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// Fills `root` with: good (versions 1, 2, 10), broken (invalid YAML),
// corrupt (artifact fails to load), nobackend (unknown backend).
inline void MakeFakeRepository(const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  fs::remove_all(root);
  for (const char* v : {"1", "2", "10"}) fs::create_directories(root / "models/good" / v);
  WriteFile(root / "models/good/config.yaml", kDoublingConfig);
  WriteFile(root / "models/broken/config.yaml", "backend: [unclosed");
  WriteFile(root / "models/corrupt/config.yaml", kDoublingConfig);
  WriteFile(root / "models/corrupt/1/corrupt", "x");
  WriteFile(root / "models/nobackend/config.yaml",
            "backend: onnx\ninputs: [{name: x, datatype: FP32, shape: [2]}]\n"
            "outputs: [{name: y, datatype: FP32, shape: [2]}]\n");
}

}  // namespace strata::serving::testing

#endif  // STRATA_SERVING_TESTING_FAKE_REPOSITORY_H_
