#include "api/audit_log.h"

#include "gtest/gtest.h"

namespace strata::api {
namespace {

TEST(AuditLogTest, DescribesControlCalls) {
  const AuditEntry load =
      DescribeControlCall({"v2", "repository", "models", "adder", "load"}, "127.0.0.1:5");
  EXPECT_EQ(load.action, "models.load");
  EXPECT_EQ(load.target, "adder");
  EXPECT_EQ(load.remote, "127.0.0.1:5");
  EXPECT_EQ(DescribeControlCall({"v2", "repository", "index"}, "").action, "index");
  EXPECT_EQ(DescribeControlCall({"v2", "repository", "tables", "index"}, "").action,
            "tables.index");
}

TEST(AuditLogTest, ALineHoldsWhoWhatWhenAndTheOutcome) {
  const AuditEntry entry{.remote = "10.0.0.1:4242", .action = "tables.load", .target = "s\"x"};
  EXPECT_EQ(AuditLine(entry, 400, R"({"error":"no such table"})", 0.25),
            R"({"ts":"1970-01-01T00:00:00.250Z","remote":"10.0.0.1:4242","action":"tables.load",)"
            R"("target":"s\"x","status":400,"outcome":"refused","message":"no such table"})");
  EXPECT_NE(AuditLine(entry, 200, R"({"message":"loaded"})", 0).find(R"("outcome":"ok")"),
            std::string::npos);
}

}  // namespace
}  // namespace strata::api
