#include "api/connection_deadline.h"

#include <chrono>
#include <memory>

#include "boost/asio/io_context.hpp"
#include "gtest/gtest.h"

namespace strata::api {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

// One connection's deadline on its own io_context; `owner` stands for the
// connection.
struct Fixture {
  boost::asio::io_context io{1};
  std::shared_ptr<int> owner = std::make_shared<int>(0);
  int expirations = 0;
  ConnectionDeadline deadline{io.get_executor(), [this] { ++expirations; }};
  Fixture() { deadline.Attach(owner); }
  // Runs the context until nothing is left to do or `limit` passes.
  void Run(milliseconds limit = milliseconds(2000)) { io.run_for(limit); }
};

TEST(ConnectionDeadlineTest, AnOperationThatOutlivesItsTimeoutExpires) {
  Fixture f;
  f.deadline.Start(milliseconds(5));
  f.Run();
  EXPECT_EQ(f.expirations, 1);
  EXPECT_TRUE(f.deadline.expired());
}

TEST(ConnectionDeadlineTest, AFinishedOperationNeverExpires) {
  Fixture f;
  f.deadline.Start(milliseconds(5));
  f.deadline.Finish();
  f.Run();  // the timer fires, finds nothing in progress, and stops
  EXPECT_EQ(f.expirations, 0);
  EXPECT_FALSE(f.deadline.expired());
}

TEST(ConnectionDeadlineTest, AnEarlierDeadlineReArmsTheTimer) {
  Fixture f;
  f.deadline.Start(hours(1));
  f.deadline.Finish();
  f.deadline.Start(milliseconds(5));  // earlier than the hour the timer waits for
  f.Run(milliseconds(5000));
  EXPECT_EQ(f.expirations, 1);
}

TEST(ConnectionDeadlineTest, ALaterDeadlineIsKeptWhenTheTimerFiresEarly) {
  Fixture f;
  f.deadline.Start(milliseconds(5));
  f.deadline.Finish();
  f.deadline.Start(hours(1));  // the timer still waits for the 5 ms
  f.io.run_for(milliseconds(200));
  EXPECT_EQ(f.expirations, 0);  // it fired, saw the hour, and waits again
}

TEST(ConnectionDeadlineTest, NothingRunsOnceTheConnectionIsGone) {
  Fixture f;
  f.deadline.Start(milliseconds(5));
  f.owner.reset();
  f.Run();
  EXPECT_EQ(f.expirations, 0);
}

}  // namespace
}  // namespace strata::api
