#include "serving/static_answer_cache.h"

#include <atomic>
#include <functional>
#include <variant>

namespace strata::serving {

StaticAnswerCache::StaticAnswerCache(size_t slots) : slots_(slots == 0 ? 1 : slots) {}

StaticAnswerCache& StaticAnswerCache::ThisThread() {
  thread_local StaticAnswerCache cache;
  return cache;
}

uint64_t StaticAnswerCache::NewToken() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

size_t StaticAnswerCache::AnswerBytes(const core::InferResponse& answer) {
  size_t bytes = answer.model_name.size() + answer.model_version.size();
  for (const core::Tensor& t : answer.outputs) {
    bytes += t.name.size() + t.shape.size() * sizeof(int64_t) + t.data.size();
  }
  for (const auto& [name, value] : answer.parameters) {
    bytes += name.size() + sizeof(core::ParameterValue);
    if (const auto* text = std::get_if<std::string>(&value)) bytes += text->size();
  }
  return bytes;
}

uint64_t StaticAnswerCache::Hash(uint64_t token, std::string_view key) {
  // Token and key mixed; the multiplier spreads consecutive tokens.
  return std::hash<std::string_view>{}(key) ^ (token * 0x9E3779B97F4A7C15ull);
}

const core::InferResponse* StaticAnswerCache::Find(uint64_t token, std::string_view key) {
  Slot& slot = SlotAt(Hash(token, key));
  if (token == 0 || slot.token != token || slot.key != key) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  return &slot.answer;
}

bool StaticAnswerCache::Put(uint64_t token, std::string_view key,
                            const core::InferResponse& answer) {
  if (token == 0 || key.size() > kMaxKeyBytes || AnswerBytes(answer) > kMaxAnswerBytes) {
    return false;
  }
  const uint64_t hash = Hash(token, key);
  Slot& slot = SlotAt(hash);
  const bool same = slot.token == token && slot.key == key;
  if (!same && slot.offered != hash) {
    slot.offered = hash;  // kept if offered again before another key
    return false;
  }
  if (slot.token == 0) ++entries_;
  slot.token = token;
  slot.key.assign(key);
  slot.answer = answer;
  slot.answer.id.clear();
  slot.answer.has_id = false;
  return true;
}

}  // namespace strata::serving
