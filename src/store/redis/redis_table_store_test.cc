#include "store/redis/redis_table_store.h"

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "gtest/gtest.h"
#include "store/ed25519_test_keys.h"

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
    socket_ = (std::filesystem::temp_directory_path() /
               ("strata-redis-test-" + std::to_string(::getpid()) + "-" + std::to_string(port_) +
                ".sock"))
                  .string();
    Start();
  }
  ~RedisServer() { Stop(); }

  void Start() {
    const std::string port = std::to_string(port_);
    const char* argv[] = {"redis-server",
                          "--port",
                          port.c_str(),
                          "--bind",
                          "127.0.0.1",
                          "--unixsocket",
                          socket_.c_str(),
                          "--unixsocketperm",
                          "700",
                          "--save",
                          "",
                          "--appendonly",
                          "no",
                          "--loglevel",
                          "warning",
                          nullptr};
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
  std::string unix_url() const { return "unix://" + socket_; }

 private:
  int port_ = 0;
  std::string socket_;
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

// Waits for MultiGetAsync's answer.
absl::StatusOr<LookupResult> LookUpAsync(const PredictionTable& table,
                                         const std::vector<std::string>& keys) {
  std::promise<absl::StatusOr<LookupResult>> answer;
  std::future<absl::StatusOr<LookupResult>> future = answer.get_future();
  table.MultiGetAsync(keys, [&](absl::StatusOr<LookupResult> r) { answer.set_value(r); });
  return future.get();
}

TEST_F(RedisTableStoreTest, ConcurrentAsyncLookupsOfTwoVersionsEachGetTheirOwnAnswer) {
  Build(100, 'a');
  Build(100, 'b');
  auto v1 = *store_->Open("t", 1);
  auto v2 = *store_->Open("t", 2);
  EXPECT_EQ(v1->async_lookup(), PredictionTable::AsyncLookup::kQueued);
  constexpr int kLookups = 200;
  std::vector<std::vector<std::string>> keys(kLookups);
  std::vector<std::promise<absl::StatusOr<LookupResult>>> answers(kLookups);
  for (int i = 0; i < kLookups; ++i) {
    keys[i] = {Key(i % 100), Key(100 + i), Key((i * 7) % 100)};
    const PredictionTable& table = i % 2 == 0 ? *v1 : *v2;
    table.MultiGetAsync(keys[i], [&answers, i](absl::StatusOr<LookupResult> r) {
      answers[i].set_value(std::move(r));
    });
  }
  for (int i = 0; i < kLookups; ++i) {
    absl::StatusOr<LookupResult> r = answers[i].get_future().get();
    ASSERT_TRUE(r.ok()) << r.status();
    const std::string value(4, i % 2 == 0 ? 'a' : 'b');
    EXPECT_EQ(r->found, (std::vector<uint8_t>{1, 0, 1})) << i;
    EXPECT_EQ(r->values, (std::vector<std::string>{value, "", value})) << i;
  }
}

TEST_F(RedisTableStoreTest, AsyncLookupsFailUnavailableWhileRedisIsDownAndRecover) {
  Build(10, 'a');
  auto table = *store_->Open("t", 1);
  ASSERT_EQ(LookUpAsync(*table, {Key(1)})->found[0], 1);
  server_.Stop();
  absl::StatusOr<LookupResult> down = LookUpAsync(*table, {Key(1)});
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  server_.Start();  // empty again: the data was not saved
  absl::StatusOr<LookupResult> back = LookUpAsync(*table, {Key(1), Key(2)});
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->found, (std::vector<uint8_t>{0, 0}));
}

TEST(RedisAddress, ParsesTcpAndUnixSocketUrls) {
  absl::StatusOr<RedisAddress> tcp = RedisAddress::Parse("redis://10.0.0.2:6380/3");
  ASSERT_TRUE(tcp.ok()) << tcp.status();
  EXPECT_EQ(tcp->host, "10.0.0.2");
  EXPECT_EQ(tcp->port, 6380);
  EXPECT_EQ(tcp->db, 3);
  EXPECT_TRUE(tcp->unix_socket.empty());
  absl::StatusOr<RedisAddress> unix = RedisAddress::Parse("unix:///run/redis/redis.sock?db=2");
  ASSERT_TRUE(unix.ok()) << unix.status();
  EXPECT_EQ(unix->unix_socket, "/run/redis/redis.sock");
  EXPECT_EQ(unix->db, 2);
  EXPECT_EQ(unix->ToString(), "unix:///run/redis/redis.sock?db=2");
  EXPECT_EQ(RedisAddress::Parse("unix:///tmp/r.sock")->ToString(), "unix:///tmp/r.sock");
}

TEST(RedisAddress, RefusesARelativeSocketPathAndUnknownOptions) {
  absl::StatusOr<RedisAddress> relative = RedisAddress::Parse("unix://redis.sock");
  EXPECT_EQ(relative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(relative.status().message().find("absolute path"), std::string_view::npos);
  EXPECT_FALSE(RedisAddress::Parse("unix:///tmp/r.sock?timeout=3").ok());
  EXPECT_FALSE(RedisAddress::Parse("unix:///tmp/r.sock?db=x").ok());
  EXPECT_FALSE(RedisAddress::Parse("redis://host:").ok());
}

TEST(RedisAddress, AMissingSocketIsUnavailableNamingIt) {
  auto c = RedisConnection::Connect(*RedisAddress::Parse("unix:///nonexistent/strata.sock"),
                                    std::chrono::milliseconds(200));
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(c.status().message().find("unix:///nonexistent/strata.sock"), std::string_view::npos);
}

TEST_F(RedisTableStoreTest, AStoreOverTheUnixSocketReadsWhatTcpWrote) {
  Build(20, 'a');
  auto over_unix = RedisTableStore::Create({.url = server_.unix_url()});
  ASSERT_TRUE(over_unix.ok()) << over_unix.status();
  EXPECT_EQ((*over_unix)->location(), server_.unix_url());
  auto table = (*over_unix)->Open("t", 1);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ((*table)->MultiGet(std::vector<std::string>{Key(3), Key(20)})->found,
            (std::vector<uint8_t>{1, 0}));
  absl::StatusOr<LookupResult> async = LookUpAsync(**table, {Key(19), Key(21), Key(0)});
  ASSERT_TRUE(async.ok()) << async.status();
  EXPECT_EQ(async->found, (std::vector<uint8_t>{1, 0, 1}));
  EXPECT_EQ(async->values[2], "aaaa");
}

// Redis versions are signed like RocksDB ones: `batch --signing-key` signs
// the manifest, `serve --trusted-key` refuses an unsigned or tampered one.
TEST_F(RedisTableStoreTest, ATamperedOrMissingManifestSignatureIsRefused) {
  const auto [private_pem, public_pem] = testing::Ed25519KeyPair();
  const std::filesystem::path key_file =
      std::filesystem::temp_directory_path() / ("redis-sign-" + std::to_string(getpid()) + ".pem");
  std::ofstream(key_file) << private_pem;
  absl::StatusOr<ArtifactSigner> signer = ArtifactSigner::WithKeyFile(key_file);
  std::filesystem::remove(key_file);
  ASSERT_TRUE(signer.ok()) << signer.status();
  auto signing = RedisTableStore::Create(
      {.url = server_.url(), .signer = std::make_shared<ArtifactSigner>(*signer)});
  ASSERT_TRUE(signing.ok());
  auto builder = (*signing)->NewBuilder("t", "");
  ASSERT_TRUE(builder.ok());
  ASSERT_TRUE((*builder)->Add(Key(1), "aaaa").ok());
  ASSERT_EQ(*(*builder)->Commit(Manifest(1)), 1);
  EXPECT_EQ(Build(1, 'b'), 2);  // unsigned (store_ has no signer)

  auto verifier = ArtifactVerifier::WithTrustedKey(public_pem);
  ASSERT_TRUE(verifier.ok());
  auto checking = RedisTableStore::Create({.url = server_.url(), .verifier = *verifier});
  ASSERT_TRUE(checking.ok());
  EXPECT_TRUE((*checking)->Open("t", 1).ok());
  EXPECT_TRUE(store_->Open("t", 2).ok());  // no trusted key: unsigned versions open
  absl::Status unsigned_version = (*checking)->Open("t", 2).status();
  EXPECT_EQ(unsigned_version.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(unsigned_version.message().find("unsigned"), std::string_view::npos);

  auto c = RedisConnection::Connect(*RedisAddress::Parse(server_.url()), std::chrono::seconds(1));
  ASSERT_TRUE(c.ok());
  const std::string sig_key = RedisTableStore::VersionPrefix("t", 1) + "manifest.sig";
  auto signature = (*c)->Command({"GET", sig_key});
  ASSERT_TRUE(signature.ok());
  std::string tampered((*signature)->str, (*signature)->len);
  tampered[0] = static_cast<char>(tampered[0] ^ 1);
  ASSERT_TRUE((*c)->Command({"SET", sig_key, tampered}).ok());
  absl::Status bad = (*checking)->Open("t", 1).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(bad.message().find("bad signature"), std::string_view::npos) << bad;
  // The signature covers the manifest: the right signature of another text fails too.
  ASSERT_TRUE(
      (*c)->Command({"SET", sig_key, std::string_view((*signature)->str, (*signature)->len)}).ok());
  EXPECT_TRUE((*checking)->Open("t", 1).ok());
  const std::string manifest_key = RedisTableStore::VersionPrefix("t", 1) + "manifest";
  auto manifest = (*c)->Command({"GET", manifest_key});
  ASSERT_TRUE(manifest.ok());
  ASSERT_TRUE((*c)->Command({"SET", manifest_key,
                             std::string((*manifest)->str, (*manifest)->len) + "\n# edited\n"})
                  .ok());
  EXPECT_EQ((*checking)->Open("t", 1).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RedisLookupPipeline, AFullQueueRefusesAtOnceAndAStoppedOneToo) {
  // A server that accepts connections and never answers (like a stopped
  // Redis): the first round waits for its timeout while the rest queue.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  RedisLookupPipeline pipeline(RedisAddress{.port = ntohs(addr.sin_port)},
                               std::chrono::milliseconds(200), {.connections = 1, .max_queued = 1});
  const std::vector<std::string> keys = {"k"};
  std::vector<absl::StatusOr<LookupResult>> answers;
  std::mutex mutex;
  for (int i = 0; i < 50; ++i) {
    pipeline.Submit("p:", keys, [&](absl::StatusOr<LookupResult> r) {
      std::lock_guard lock(mutex);
      answers.push_back(std::move(r));
    });
  }
  pipeline.Stop();
  ASSERT_EQ(answers.size(), 50u);  // every lookup answered exactly once
  int refused = 0;
  for (const auto& a : answers) {
    EXPECT_EQ(a.status().code(), absl::StatusCode::kUnavailable);
    if (a.status().message().find("too many lookups waiting") != std::string_view::npos) ++refused;
  }
  EXPECT_GE(refused, 48);  // one in the round, at most one queued
  ::close(fd);
  bool after_stop = false;
  pipeline.Submit("p:", keys, [&](absl::StatusOr<LookupResult> r) {
    after_stop = r.status().code() == absl::StatusCode::kUnavailable;
  });
  EXPECT_TRUE(after_stop);
}

}  // namespace
}  // namespace strata::store
