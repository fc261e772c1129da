// StaticAnswerCache keeps the finished answers of a static endpoint's
// single-key lookups, so that a hot key is answered without running the
// plan's stages or building the response again (issue 17, item 4).
//
// An answer is kept under a version token and the key's canonical bytes
// (store/key_schema.h). A token names one table version of one endpoint
// and is never handed out twice (NewToken), so when a version is replaced
// its answers are never found again: they are overwritten as their slots
// are reused. Only answers that are a pure function of (version, key) may
// be kept; StaticEndpoint keeps those of table versions held in memory.
//
// Direct-mapped, a fixed number of slots. A key is kept (displacing what its
// slot held) only when it is offered twice with no other key offered to that
// slot in between (a doorkeeper, as TinyLFU's): keys seen once, most keys of
// a long-tailed workload, cost no copy and do not push hot keys out. Keys
// over kMaxKeyBytes and
// answers over kMaxAnswerBytes are not kept, so a cache holds at most
// slots x (its slot, kMaxKeyBytes, kMaxAnswerBytes plus their allocations).
// An object is not thread-safe; ThisThread() gives each thread its own.
#ifndef STRATA_SERVING_STATIC_ANSWER_CACHE_H_
#define STRATA_SERVING_STATIC_ANSWER_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/infer_request.h"

namespace strata::serving {

class StaticAnswerCache {
 public:
  static constexpr size_t kSlots = 1024;
  static constexpr size_t kMaxKeyBytes = 64;
  static constexpr size_t kMaxAnswerBytes = 1024;

  explicit StaticAnswerCache(size_t slots = kSlots);
  StaticAnswerCache(const StaticAnswerCache&) = delete;
  StaticAnswerCache& operator=(const StaticAnswerCache&) = delete;

  // The calling thread's cache, made on its first call (kSlots slots).
  static StaticAnswerCache& ThisThread();
  // A token no earlier call returned; never 0.
  static uint64_t NewToken();
  // What an answer holds, roughly: its tensors, names and parameters.
  static size_t AnswerBytes(const core::InferResponse& answer);

  // The answer kept for (token, key), or null. Valid until the next Put.
  const core::InferResponse* Find(uint64_t token, std::string_view key);
  // Keeps a copy of `answer` (without its request id) for (token, key) in
  // its slot when the slot holds this key or was offered this key last;
  // false (nothing kept) otherwise, and when token is 0 or the key or the
  // answer is over its bound.
  bool Put(uint64_t token, std::string_view key, const core::InferResponse& answer);

  size_t slots() const { return slots_.size(); }
  size_t entries() const { return entries_; }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  struct Slot {
    uint64_t token = 0;    // 0: empty
    uint64_t offered = 0;  // the hash of the last key offered and not kept
    std::string key;
    core::InferResponse answer;
  };
  static uint64_t Hash(uint64_t token, std::string_view key);
  Slot& SlotAt(uint64_t hash) { return slots_[hash % slots_.size()]; }

  std::vector<Slot> slots_;
  size_t entries_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_STATIC_ANSWER_CACHE_H_
