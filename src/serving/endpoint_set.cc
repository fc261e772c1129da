#include "serving/endpoint_set.h"

#include "spdlog/spdlog.h"

namespace strata::serving {
namespace {

std::map<std::string, std::shared_ptr<Endpoint>, std::less<>> ByName(
    std::vector<std::shared_ptr<Endpoint>> endpoints) {
  std::map<std::string, std::shared_ptr<Endpoint>, std::less<>> by_name;
  for (std::shared_ptr<Endpoint>& e : endpoints) {
    const std::string name = e->name();
    by_name.emplace(name, std::move(e));
  }
  return by_name;
}

}  // namespace

EndpointSet::EndpointSet(std::vector<std::shared_ptr<Endpoint>> endpoints,
                         std::chrono::milliseconds poll_interval)
    : endpoints_(ByName(std::move(endpoints))) {
  if (!endpoints_.empty() && poll_interval.count() > 0) {
    thread_ = std::thread([this, poll_interval] { RefreshLoop(poll_interval); });
  }
}

EndpointSet::~EndpointSet() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

const Endpoint* EndpointSet::Find(std::string_view name) const {
  auto it = endpoints_.find(name);
  return it == endpoints_.end() ? nullptr : it->second.get();
}

std::vector<const Endpoint*> EndpointSet::List() const {
  std::vector<const Endpoint*> list;
  for (const auto& [name, endpoint] : endpoints_) list.push_back(endpoint.get());
  return list;
}

void EndpointSet::RefreshAll() {
  std::lock_guard lock(refresh_mutex_);
  for (const auto& [name, endpoint] : endpoints_) {
    const absl::Status status = endpoint->Refresh();
    // Log a problem once, not every poll, and say when it is over.
    std::string& last = last_errors_[name];
    const std::string now = status.ok() ? "" : std::string(status.message());
    if (now != last && !now.empty()) {
      spdlog::warn("endpoint '{}': {}", name, now);
    } else if (now != last) {
      spdlog::info("endpoint '{}': refreshed normally again", name);
    }
    last = now;
  }
}

void EndpointSet::RefreshLoop(std::chrono::milliseconds poll_interval) {
  std::unique_lock lock(mutex_);
  while (!stop_cv_.wait_for(lock, poll_interval, [this] { return stop_; })) {
    lock.unlock();
    RefreshAll();
    lock.lock();
  }
}

}  // namespace strata::serving
