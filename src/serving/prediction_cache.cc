#include "serving/prediction_cache.h"

#include <algorithm>
#include <bit>
#include <utility>

#include "absl/container/node_hash_map.h"
#include "core/fingerprint.h"
#include "core/mutex.h"
#include "serving/frequency_sketch.h"

namespace strata::serving {
namespace {

using SteadyClock = std::chrono::steady_clock;

enum class Segment : uint8_t { kWindow, kProbation, kProtected };

struct Entry {
  std::string value;
  uint64_t hash = 0;
  size_t charge = 0;
  SteadyClock::time_point expires = SteadyClock::time_point::max();
  Segment segment = Segment::kWindow;
  Entry* prev = nullptr;             // towards the most recently used
  Entry* next = nullptr;             // towards the least recently used
  const std::string* key = nullptr;  // the map's key (node_hash_map: stable)
};

// An intrusive LRU list: head is the most recently used.
struct List {
  Entry* head = nullptr;
  Entry* tail = nullptr;
  size_t bytes = 0;

  void PushFront(Entry* e) {
    e->prev = nullptr;
    e->next = head;
    if (head != nullptr) head->prev = e;
    head = e;
    if (tail == nullptr) tail = e;
    bytes += e->charge;
  }
  void Remove(Entry* e) {
    (e->prev != nullptr ? e->prev->next : head) = e->next;
    (e->next != nullptr ? e->next->prev : tail) = e->prev;
    e->prev = e->next = nullptr;
    bytes -= e->charge;
  }
};

constexpr double kWindowShare = 0.01;
constexpr double kProtectedShare = 0.8;  // of the main segment

}  // namespace

class PredictionCache::Shard {
 public:
  Shard(const PredictionCacheOptions& options, size_t capacity)
      : options_(options),
        capacity_(capacity),
        window_capacity_(options.admission
                             ? static_cast<size_t>(static_cast<double>(capacity) * kWindowShare)
                             : capacity),
        protected_capacity_(static_cast<size_t>(static_cast<double>(capacity - window_capacity_) *
                                                kProtectedShare)),
        sketch_(options.admission ? capacity / std::max<size_t>(options.expected_entry_bytes, 1)
                                  : 0) {}

  bool Get(uint64_t hash, std::string_view key, std::string& value) {
    core::MutexLock lock(mutex_);
    if (options_.admission) sketch_.Record(hash);
    auto it = map_.find(absl::string_view(key.data(), key.size()));
    if (it == map_.end()) {
      ++stats_.misses;
      return false;
    }
    Entry& e = it->second;
    if (options_.ttl.count() > 0 && Now() >= e.expires) {
      Erase(it);
      ++stats_.expirations;
      ++stats_.misses;
      return false;
    }
    value.assign(e.value);
    Touch(e);
    ++stats_.hits;
    return true;
  }

  void Put(uint64_t hash, std::string_view key, std::string_view value) {
    const size_t charge = key.size() + value.size() + EntryOverhead();
    core::MutexLock lock(mutex_);
    if (charge > capacity_) {
      ++stats_.rejections;
      return;
    }
    const SteadyClock::time_point expires =
        options_.ttl.count() > 0 ? Now() + options_.ttl : SteadyClock::time_point::max();
    auto [it, inserted] = map_.try_emplace(std::string(key));
    Entry& e = it->second;
    ++stats_.inserts;
    if (!inserted) {
      ListOf(e.segment).Remove(&e);
      e.value.assign(value.data(), value.size());
      e.charge = charge;
      e.expires = expires;
      ListOf(e.segment).PushFront(&e);
    } else {
      e.value.assign(value.data(), value.size());
      e.hash = hash;
      e.charge = charge;
      e.expires = expires;
      e.key = &it->first;
      e.segment = Segment::kWindow;
      window_.PushFront(&e);
    }
    Rebalance();
  }

  void AddStats(PredictionCacheStats& total) const {
    core::MutexLock lock(mutex_);
    total.hits += stats_.hits;
    total.misses += stats_.misses;
    total.inserts += stats_.inserts;
    total.rejections += stats_.rejections;
    total.evictions += stats_.evictions;
    total.expirations += stats_.expirations;
    total.entries += map_.size();
    total.bytes += window_.bytes + probation_.bytes + protected_.bytes;
  }

 private:
  using Map = absl::node_hash_map<std::string, Entry>;

  SteadyClock::time_point Now() const {
    return options_.clock ? options_.clock() : SteadyClock::now();
  }

  List& ListOf(Segment segment) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    switch (segment) {
      case Segment::kWindow:
        return window_;
      case Segment::kProbation:
        return probation_;
      case Segment::kProtected:
        return protected_;
    }
    return window_;
  }

  void Erase(Map::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    ListOf(it->second.segment).Remove(&it->second);
    map_.erase(it);
  }
  void Erase(Entry* e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    Erase(map_.find(absl::string_view(*e->key)));
  }

  // A hit: window and protected entries move to the front; a probation
  // entry earns its place in the protected segment.
  void Touch(Entry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (e.segment != Segment::kProbation) {
      List& list = ListOf(e.segment);
      list.Remove(&e);
      list.PushFront(&e);
      return;
    }
    probation_.Remove(&e);
    e.segment = Segment::kProtected;
    protected_.PushFront(&e);
    while (protected_.bytes > protected_capacity_ && protected_.tail != &e) {
      Entry* demoted = protected_.tail;
      protected_.Remove(demoted);
      demoted->segment = Segment::kProbation;
      probation_.PushFront(demoted);
    }
  }

  // Moves entries out of the window until it fits, admitting each to the
  // main segment or dropping it.
  void Rebalance() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (!options_.admission) {
      while (window_.bytes > capacity_) {
        Erase(window_.tail);
        ++stats_.evictions;
      }
      return;
    }
    while (window_.bytes > window_capacity_) {
      Entry* candidate = window_.tail;
      window_.Remove(candidate);
      Admit(candidate);
    }
    // A replaced value may have grown an entry of the main segment.
    while (probation_.bytes + protected_.bytes > capacity_ - window_capacity_) {
      Erase(probation_.tail != nullptr ? probation_.tail : protected_.tail);
      ++stats_.evictions;
    }
  }

  // REQUIRES: `candidate` is in no list.
  void Admit(Entry* candidate) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    const size_t main_capacity = capacity_ - window_capacity_;
    const int frequency = sketch_.Estimate(candidate->hash);
    while (probation_.bytes + protected_.bytes + candidate->charge > main_capacity) {
      Entry* victim = probation_.tail != nullptr ? probation_.tail : protected_.tail;
      if (victim == nullptr || frequency <= sketch_.Estimate(victim->hash)) {
        map_.erase(map_.find(absl::string_view(*candidate->key)));
        ++stats_.rejections;
        return;
      }
      Erase(victim);
      ++stats_.evictions;
    }
    candidate->segment = Segment::kProbation;
    probation_.PushFront(candidate);
  }

  const PredictionCacheOptions& options_;
  const size_t capacity_, window_capacity_, protected_capacity_;
  // core::Mutex (std::mutex) rather than absl::Mutex: Debian's Abseil is
  // built without ThreadSanitizer annotations, and the cache's tests run
  // under TSan.
  mutable core::Mutex mutex_;
  Map map_ ABSL_GUARDED_BY(mutex_);
  List window_ ABSL_GUARDED_BY(mutex_);
  List probation_ ABSL_GUARDED_BY(mutex_);
  List protected_ ABSL_GUARDED_BY(mutex_);
  FrequencySketch sketch_ ABSL_GUARDED_BY(mutex_);
  PredictionCacheStats stats_ ABSL_GUARDED_BY(mutex_);
};

PredictionCache::PredictionCache(PredictionCacheOptions options) : options_(std::move(options)) {
  const size_t shards = std::bit_ceil(static_cast<size_t>(std::max(options_.shards, 1)));
  shard_bits_ = std::countr_zero(shards);
  for (size_t i = 0; i < shards; ++i) {
    shards_.push_back(std::make_unique<Shard>(options_, options_.max_bytes / shards));
  }
}

PredictionCache::~PredictionCache() = default;

std::string PredictionCache::Key(std::string_view model, int64_t version,
                                 std::string_view row_key) {
  std::string key;
  key.reserve(model.size() + 1 + sizeof(version) + row_key.size());
  key.append(model);
  key.push_back('\0');  // model names never contain NUL
  for (int shift = 56; shift >= 0; shift -= 8) {
    key.push_back(static_cast<char>((static_cast<uint64_t>(version) >> shift) & 0xFF));
  }
  key.append(row_key);
  return key;
}

size_t PredictionCache::EntryOverhead() {
  // The map node (key string and Entry), its slot pointer and control
  // byte, and the allocator's header.
  return sizeof(std::pair<const std::string, Entry>) + sizeof(void*) + 1 + 16;
}

PredictionCache::Shard& PredictionCache::ShardOf(uint64_t hash) const {
  return *shards_[shard_bits_ == 0 ? 0 : hash >> (64 - shard_bits_)];
}

namespace {

// The key as the cache keeps it: itself, or the marker of a long key.
std::string_view Kept(std::string_view key, std::string& marker) {
  if (key.size() <= core::kMaxKeyBytes) return key;
  marker = core::KeyFingerprintMarker(key);
  return marker;
}

}  // namespace

bool PredictionCache::Get(std::string_view key, std::string& value) {
  std::string marker;
  key = Kept(key, marker);
  const uint64_t hash = core::Fingerprint64(key);
  return ShardOf(hash).Get(hash, key, value);
}

void PredictionCache::Put(std::string_view key, std::string_view value) {
  std::string marker;
  key = Kept(key, marker);
  const uint64_t hash = core::Fingerprint64(key);
  ShardOf(hash).Put(hash, key, value);
}

PredictionCacheStats PredictionCache::Stats() const {
  PredictionCacheStats total;
  for (const auto& shard : shards_) shard->AddStats(total);
  return total;
}

}  // namespace strata::serving
