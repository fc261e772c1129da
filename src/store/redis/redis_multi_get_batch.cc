#include "store/redis/redis_multi_get_batch.h"

#include "fmt/format.h"

namespace strata::store {

size_t RedisMultiGetBatch::Add(std::string_view prefix, std::span<const std::string> keys) {
  for (const std::string& key : keys) {
    std::string& full = full_keys_.emplace_back();
    full.reserve(prefix.size() + key.size());
    full.append(prefix).append(key);
  }
  ends_.push_back(full_keys_.size());
  return ends_.size() - 1;
}

std::vector<std::string_view> RedisMultiGetBatch::Command() const {
  std::vector<std::string_view> args;
  args.reserve(full_keys_.size() + 1);
  args.push_back("MGET");
  args.insert(args.end(), full_keys_.begin(), full_keys_.end());
  return args;
}

absl::StatusOr<std::vector<LookupResult>> RedisMultiGetBatch::Split(
    std::span<const std::optional<std::string_view>> values) const {
  if (values.size() != full_keys_.size()) {
    return absl::InternalError(
        fmt::format("MGET of {} keys answered {} values", full_keys_.size(), values.size()));
  }
  std::vector<LookupResult> results(ends_.size());
  size_t begin = 0;
  for (size_t lookup = 0; lookup < ends_.size(); ++lookup) {
    const size_t n = ends_[lookup] - begin;
    LookupResult& result = results[lookup];
    result.values.resize(n);
    result.found.assign(n, 0);
    for (size_t i = 0; i < n; ++i) {
      const std::optional<std::string_view>& value = values[begin + i];
      if (!value) continue;
      result.values[i].assign(value->data(), value->size());
      result.found[i] = 1;
    }
    begin = ends_[lookup];
  }
  return results;
}

void RedisMultiGetBatch::Clear() {
  full_keys_.clear();
  ends_.clear();
}

}  // namespace strata::store
