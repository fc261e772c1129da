#include "serving/lifecycle/time_source.h"

#include <thread>

namespace strata::serving {
namespace {

class SteadyTimeSource : public TimeSource {
 public:
  Clock::time_point Now() const override { return Clock::now(); }
  void SleepFor(Clock::duration duration) override { std::this_thread::sleep_for(duration); }
};

}  // namespace

TimeSource& RealTimeSource() {
  static SteadyTimeSource* source = new SteadyTimeSource();
  return *source;
}

}  // namespace strata::serving
