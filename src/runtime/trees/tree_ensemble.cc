#include "runtime/trees/tree_ensemble.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "core/status_macros.h"
#include "fmt/format.h"

namespace strata::runtime::trees {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("not an XGBoost JSON model: {}", what));
}

absl::Status Unsupported(std::string_view what) {
  return absl::UnimplementedError(fmt::format("the tree engine cannot express {}", what));
}

absl::StatusOr<element> Field(element node, std::string_view key) {
  element value;
  if (node[key].get(value) != simdjson::SUCCESS) {
    return Malformed(fmt::format("no '{}'", key));
  }
  return value;
}

absl::StatusOr<array> ArrayField(element node, std::string_view key) {
  STRATA_ASSIGN_OR_RETURN(element value, Field(node, key));
  array list;
  if (value.get(list) != simdjson::SUCCESS)
    return Malformed(fmt::format("'{}' is not a list", key));
  return list;
}

// XGBoost writes its parameters as strings ("5E-1", "3").
absl::StatusOr<double> NumberParameter(element node, std::string_view key) {
  STRATA_ASSIGN_OR_RETURN(element value, Field(node, key));
  std::string_view text;
  if (value.get(text) == simdjson::SUCCESS) {
    std::string copy(text);
    char* end = nullptr;
    const double number = std::strtod(copy.c_str(), &end);
    if (end == copy.c_str() || *end != '\0') {
      return Malformed(fmt::format("'{}' is not a number: '{}'", key, text));
    }
    return number;
  }
  double number = 0;
  if (value.get(number) != simdjson::SUCCESS) return Malformed(fmt::format("'{}'", key));
  return number;
}

template <typename T>
absl::StatusOr<std::vector<T>> Numbers(element tree, std::string_view key) {
  STRATA_ASSIGN_OR_RETURN(array list, ArrayField(tree, key));
  std::vector<T> out;
  out.reserve(list.size());
  for (element item : list) {
    if constexpr (std::is_floating_point_v<T>) {
      double value = 0;
      if (item.get(value) != simdjson::SUCCESS) return Malformed(fmt::format("'{}' item", key));
      out.push_back(static_cast<T>(value));
    } else {
      int64_t value = 0;
      if (item.get(value) != simdjson::SUCCESS) return Malformed(fmt::format("'{}' item", key));
      out.push_back(static_cast<T>(value));
    }
  }
  return out;
}

absl::Status CheckTreeIsPlain(element tree, size_t nodes) {
  STRATA_ASSIGN_OR_RETURN(std::vector<int64_t> split_type, Numbers<int64_t>(tree, "split_type"));
  for (int64_t type : split_type) {
    if (type != 0) return Unsupported("categorical splits");
  }
  STRATA_ASSIGN_OR_RETURN(element param, Field(tree, "tree_param"));
  if (param["size_leaf_vector"].error() == simdjson::SUCCESS) {
    STRATA_ASSIGN_OR_RETURN(double leaf_vector, NumberParameter(param, "size_leaf_vector"));
    if (leaf_vector > 1) return Unsupported("vector leaves (multi-target trees)");
  }
  if (split_type.size() != nodes) return Malformed("tree arrays of different lengths");
  return absl::OkStatus();
}

// One tree's arrays as XGBoost writes them.
struct RawTree {
  std::vector<int64_t> left, right, indices, default_left;
  std::vector<float> conditions;
};

absl::StatusOr<RawTree> ReadRawTree(element tree) {
  RawTree raw;
  STRATA_ASSIGN_OR_RETURN(raw.left, Numbers<int64_t>(tree, "left_children"));
  STRATA_ASSIGN_OR_RETURN(raw.right, Numbers<int64_t>(tree, "right_children"));
  STRATA_ASSIGN_OR_RETURN(raw.conditions, Numbers<float>(tree, "split_conditions"));
  STRATA_ASSIGN_OR_RETURN(raw.indices, Numbers<int64_t>(tree, "split_indices"));
  STRATA_ASSIGN_OR_RETURN(raw.default_left, Numbers<int64_t>(tree, "default_left"));
  const size_t n = raw.left.size();
  if (n == 0 || raw.right.size() != n || raw.conditions.size() != n || raw.indices.size() != n ||
      raw.default_left.size() != n) {
    return Malformed("tree arrays of different lengths");
  }
  STRATA_RETURN_IF_ERROR(CheckTreeIsPlain(tree, n));
  return raw;
}

// Appends one tree's nodes in breadth-first order, so that every split's
// two children sit side by side (left, then right at left + 1): the walk
// then picks the next node with arithmetic instead of a branch.
absl::Status AppendTree(const RawTree& raw, int32_t num_features, TreeEnsemble& ensemble) {
  const auto n = static_cast<int64_t>(raw.left.size());
  const auto base = static_cast<int32_t>(ensemble.nodes.size());
  ensemble.roots.push_back(base);
  std::vector<int64_t> order = {0};  // old index of each new node
  std::vector<int32_t> level = {0};  // splits above each new node
  int32_t depth = 0;
  for (size_t next = 0; next < order.size(); ++next) {
    const int64_t old = order[next];
    depth = std::max(depth, level[next]);
    TreeNode node;
    node.value = raw.conditions[old];
    if (raw.left[old] >= 0) {
      const int64_t l = raw.left[old], r = raw.right[old], f = raw.indices[old];
      if (l >= n || r < 0 || r >= n || f < 0 || f >= num_features ||
          static_cast<int64_t>(order.size()) + 2 > n) {
        return Malformed(fmt::format("node {} points outside its tree or features", old));
      }
      node.left = base + static_cast<int32_t>(order.size());
      node.feature =
          static_cast<uint32_t>(f) | (raw.default_left[old] ? TreeNode::kDefaultLeft : 0);
      order.push_back(l);
      order.push_back(r);
      level.insert(level.end(), 2, level[next] + 1);
    }
    ensemble.nodes.push_back(node);
  }
  ensemble.depths.push_back(depth);
  return absl::OkStatus();
}

absl::Status ReadObjective(element learner, TreeEnsemble& ensemble) {
  STRATA_ASSIGN_OR_RETURN(element objective, Field(learner, "objective"));
  std::string_view name;
  if (objective["name"].get(name) != simdjson::SUCCESS) return Malformed("no objective name");
  ensemble.objective_name = std::string(name);
  if (name == "binary:logistic" || name == "reg:logistic") {
    ensemble.objective = Objective::kSigmoid;
  } else if (name == "count:poisson" || name == "reg:gamma" || name == "reg:tweedie") {
    ensemble.objective = Objective::kExp;
  } else if (name == "multi:softprob") {
    ensemble.objective = Objective::kSoftprob;
  } else if (name == "multi:softmax") {
    ensemble.objective = Objective::kSoftmax;
  } else if (name == "reg:squarederror" || name == "reg:absoluteerror" ||
             name == "binary:logitraw" || name == "reg:linear" || name == "rank:pairwise" ||
             name == "rank:ndcg" || name == "rank:map") {
    ensemble.objective = Objective::kIdentity;
  } else {
    return Unsupported(fmt::format("the objective '{}'", name));
  }
  return absl::OkStatus();
}

// base_score (XGBoost 1.7 stores the answer's scale in the JSON) turned into
// the margin every row starts from, as the objective's ProbToMargin does, in float.
float BaseMargin(Objective objective, float base) {
  switch (objective) {
    case Objective::kSigmoid:
      return -std::log(1.0f / base - 1.0f);
    case Objective::kExp:
      return std::log(base);
    case Objective::kIdentity:
    case Objective::kSoftprob:
    case Objective::kSoftmax:
      return base;
  }
  return base;
}

absl::Status ReadBase(element learner, TreeEnsemble& ensemble) {
  STRATA_ASSIGN_OR_RETURN(element param, Field(learner, "learner_model_param"));
  STRATA_ASSIGN_OR_RETURN(double base_score, NumberParameter(param, "base_score"));
  STRATA_ASSIGN_OR_RETURN(double features, NumberParameter(param, "num_feature"));
  STRATA_ASSIGN_OR_RETURN(double classes, NumberParameter(param, "num_class"));
  if (param["num_target"].error() == simdjson::SUCCESS) {
    STRATA_ASSIGN_OR_RETURN(double targets, NumberParameter(param, "num_target"));
    if (targets > 1) return Unsupported("more than one target");
  }
  ensemble.num_features = static_cast<int32_t>(features);
  ensemble.num_groups = classes > 1 ? static_cast<int32_t>(classes) : 1;
  ensemble.base_margin = BaseMargin(ensemble.objective, static_cast<float>(base_score));
  return absl::OkStatus();
}

absl::Status ReadTrees(element booster, TreeEnsemble& ensemble) {
  std::string_view name;
  if (booster["name"].get(name) != simdjson::SUCCESS) return Malformed("no booster name");
  if (name != "gbtree") return Unsupported(fmt::format("the '{}' booster", name));
  STRATA_ASSIGN_OR_RETURN(element model, Field(booster, "model"));
  STRATA_ASSIGN_OR_RETURN(element param, Field(model, "gbtree_model_param"));
  STRATA_ASSIGN_OR_RETURN(double parallel, NumberParameter(param, "num_parallel_tree"));
  (void)parallel;  // parallel trees are summed like any other trees
  STRATA_ASSIGN_OR_RETURN(array trees, ArrayField(model, "trees"));
  STRATA_ASSIGN_OR_RETURN(std::vector<int32_t> groups, Numbers<int32_t>(model, "tree_info"));
  if (groups.size() != trees.size()) return Malformed("tree_info does not match the trees");
  for (int32_t group : groups) {
    if (group < 0 || group >= ensemble.num_groups) return Malformed("tree_info names no group");
  }
  ensemble.groups = std::move(groups);
  for (element tree : trees) {
    STRATA_ASSIGN_OR_RETURN(RawTree raw, ReadRawTree(tree));
    STRATA_RETURN_IF_ERROR(AppendTree(raw, ensemble.num_features, ensemble));
  }
  return absl::OkStatus();
}

// XGBoost writes a categorical node's threshold as a bare NaN, which is not
// JSON; such a model is recognised by its non-empty category lists before
// parsing.
bool HasCategoricalSplits(std::string_view json) {
  constexpr std::string_view kNodes = "\"categories_nodes\":[";
  for (size_t at = json.find(kNodes); at != json.npos; at = json.find(kNodes, at + 1)) {
    const size_t next = at + kNodes.size();
    if (next < json.size() && json[next] != ']') return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<TreeEnsemble> ParseXGBoostJson(std::string_view json) {
  if (HasCategoricalSplits(json)) return Unsupported("categorical splits");
  simdjson::dom::parser parser;
  element root;
  if (auto error = parser.parse(simdjson::padded_string(json)).get(root); error) {
    return Malformed(simdjson::error_message(error));
  }
  STRATA_ASSIGN_OR_RETURN(element learner, Field(root, "learner"));
  TreeEnsemble ensemble;
  STRATA_RETURN_IF_ERROR(ReadObjective(learner, ensemble));
  STRATA_RETURN_IF_ERROR(ReadBase(learner, ensemble));
  STRATA_ASSIGN_OR_RETURN(element booster, Field(learner, "gradient_booster"));
  STRATA_RETURN_IF_ERROR(ReadTrees(booster, ensemble));
  return ensemble;
}

}  // namespace strata::runtime::trees
