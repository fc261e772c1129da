#include "store/redis/redis_table_store.h"

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "gtest/gtest.h"

extern char** environ;

namespace strata::store {
namespace {

// A real redis-server on a free loopback port, stopped by the destructor.
class RedisServer {
 public:
  RedisServer() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::close(fd);
    Start();
  }
  ~RedisServer() { Stop(); }

  void Start() {
    const std::string port = std::to_string(port_);
    const char* argv[] = {"redis-server", "--port",     port.c_str(), "--bind",
                          "127.0.0.1",    "--save",     "",           "--appendonly",
                          "no",           "--loglevel", "warning",    nullptr};
    ASSERT_EQ(
        ::posix_spawnp(&pid_, "redis-server", nullptr, nullptr, const_cast<char**>(argv), environ),
        0);
    for (int i = 0; i < 200; ++i) {
      if (RedisConnection::Connect({.port = port_}, std::chrono::milliseconds(100)).ok()) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    FAIL() << "redis-server did not start";
  }
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  pid_t pid_ = 0;
};

TableManifest Manifest(int64_t rows) {
  TableManifest m;
  m.table = "t";
  m.model_name = "m";
  m.model_version = 1;
  m.key = *KeySchema::Parse("id:INT64");
  m.outputs = {{"y", core::DataType::kFp32, {}}};
  m.rows = rows;
  return m;
}

std::string Key(int64_t id) {
  std::string key;
  KeySchema::AppendInt(id, key);
  return key;
}

class RedisTableStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store =
        RedisTableStore::Create({.url = server_.url(), .grace_seconds = 1, .pipeline_depth = 100});
    ASSERT_TRUE(store.ok());
    store_ = *std::move(store);
  }
  int64_t Build(int64_t rows, char fill) {
    auto builder = store_->NewBuilder("t", "");
    EXPECT_TRUE(builder.ok()) << builder.status();
    for (int64_t i = 0; i < rows; ++i) {
      EXPECT_TRUE((*builder)->Add(Key(i), std::string(4, fill)).ok());
    }
    absl::StatusOr<int64_t> v = (*builder)->Commit(Manifest(rows));
    EXPECT_TRUE(v.ok()) << v.status();
    return v.value_or(0);
  }
  RedisServer server_;
  std::unique_ptr<RedisTableStore> store_;
};

TEST_F(RedisTableStoreTest, PipelinedVersionsSwitchByPointer) {
  EXPECT_EQ(Build(1000, 'a'), 1);
  EXPECT_EQ(Build(10, 'b'), 2);
  EXPECT_EQ(*store_->ListVersions("t"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(*store_->ListTables(), std::vector<std::string>{"t"});
  ASSERT_TRUE(store_->SetCurrentVersion("t", 1).ok());
  EXPECT_EQ(*store_->CurrentVersion("t"), 1);
  EXPECT_FALSE(store_->SetCurrentVersion("t", 3).ok());
  auto table = store_->Open("t", 1);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ((*table)->manifest().store, "redis");
  auto found = (*table)->MultiGet(std::vector<std::string>{Key(999), Key(1000), Key(5)});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->found, (std::vector<uint8_t>{1, 0, 1}));
  EXPECT_EQ(found->values[0], "aaaa");
  int64_t scanned = 0;
  ASSERT_TRUE((*table)
                  ->Scan([&](std::string_view key, std::string_view value) {
                    EXPECT_EQ(key.size(), 8u);
                    EXPECT_EQ(value, "aaaa");
                    ++scanned;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(scanned, 1000);
}

TEST_F(RedisTableStoreTest, AnAbandonedBuildLeavesNoKeys) {
  {
    auto builder = store_->NewBuilder("t", "");
    for (int i = 0; i < 300; ++i) ASSERT_TRUE((*builder)->Add(Key(i), "x").ok());
  }
  EXPECT_TRUE(store_->ListVersions("t")->empty());
  auto c =
      RedisConnection::Connect(*RedisAddress::Parse(server_.url()), std::chrono::milliseconds(500));
  auto size = (*c)->Command({"DBSIZE"});
  EXPECT_EQ((*size)->integer, 1);  // only the version counter
}

TEST_F(RedisTableStoreTest, OldVersionsExpireAfterTheGracePeriod) {
  Build(50, 'a');
  Build(50, 'b');
  Build(50, 'c');
  ASSERT_TRUE(store_->SetCurrentVersion("t", 3).ok());
  absl::StatusOr<int> removed = store_->RemoveOldVersions("t", 1);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 2);
  EXPECT_EQ(*store_->ListVersions("t"), std::vector<int64_t>{3});
  // Still readable during the grace period...
  auto old = store_->Open("t", 1);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ((*old)->MultiGet(std::vector<std::string>{Key(7)})->found[0], 1);
  // ...and gone after it.
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  EXPECT_EQ((*old)->MultiGet(std::vector<std::string>{Key(7)})->found[0], 0);
  EXPECT_FALSE(store_->Open("t", 1).ok());
}

TEST_F(RedisTableStoreTest, LookupsFailWhileRedisIsDownAndRecover) {
  Build(10, 'a');
  auto table = *store_->Open("t", 1);
  server_.Stop();
  auto down = table->MultiGet(std::vector<std::string>{Key(1)});
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  server_.Start();  // empty again: the data was not saved
  auto back = table->MultiGet(std::vector<std::string>{Key(1)});
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->found[0], 0);
}

}  // namespace
}  // namespace strata::store
