// EndpointSet holds the server's endpoints by name (fixed at construction)
// and runs the refresh thread that calls each one's Refresh() every poll
// interval, so new table versions are picked up like model versions.
// Find() is thread-safe and never blocks.
#ifndef STRATA_SERVING_ENDPOINT_SET_H_
#define STRATA_SERVING_ENDPOINT_SET_H_

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "serving/endpoint.h"

namespace strata::serving {

class EndpointSet {
 public:
  // A zero `poll_interval` starts no refresh thread.
  EndpointSet(std::vector<std::shared_ptr<Endpoint>> endpoints,
              std::chrono::milliseconds poll_interval);
  ~EndpointSet();  // stops the refresh thread

  EndpointSet(const EndpointSet&) = delete;
  EndpointSet& operator=(const EndpointSet&) = delete;

  // The endpoint called `name`, or null.
  const Endpoint* Find(std::string_view name) const;
  std::vector<const Endpoint*> List() const;
  bool empty() const { return endpoints_.empty(); }

  // Refreshes every endpoint now, on the calling thread (the refresh
  // thread calls it too; calls are serialised).
  void RefreshAll();

 private:
  void RefreshLoop(std::chrono::milliseconds poll_interval);

  const std::map<std::string, std::shared_ptr<Endpoint>, std::less<>> endpoints_;
  std::mutex refresh_mutex_;  // serialises RefreshAll(); guards last_errors_
  std::map<std::string, std::string> last_errors_;
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace strata::serving

#endif  // STRATA_SERVING_ENDPOINT_SET_H_
