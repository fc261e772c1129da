#include "serving/key_log.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "features/keyed_hash.h"
#include "gtest/gtest.h"

namespace strata::serving {
namespace {

core::InferRequest Request() {
  core::InferRequest r;
  core::Tensor id{"id", core::DataType::kInt32, {2}, {}};
  const int32_t ids[] = {7, -3};
  id.data.resize(sizeof ids);
  std::memcpy(id.data.data(), ids, sizeof ids);
  core::Tensor name{"name", core::DataType::kBytes, {2}, {}};
  core::AppendBytesElement("a\"b", name.data);
  core::AppendBytesElement("c", name.data);
  core::Tensor features{"features", core::DataType::kFp32, {2, 1}, std::vector<uint8_t>(8)};
  r.inputs = {features, name, id};
  return r;
}

std::filesystem::path TempFile() {
  return std::filesystem::temp_directory_path() /
         ("key_log_test_" + std::to_string(::getpid()) + ".jsonl");
}

TEST(KeyLogTest, WritesKeyColumnsInOrderNeverPayloads) {
  const std::filesystem::path path = TempFile();
  std::filesystem::remove(path);
  {
    auto log = KeyLog::Open({.path = path.string(), .sample = 1, .hash = false});
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ((*log)->Lines("ep", {"id", "name"}, Request(), 1.5)[0],
              "{\"ts\":1.500,\"endpoint\":\"ep\",\"key\":{\"id\":7,\"name\":\"a\\\"b\"}}\n");
    (*log)->Record("ep", {"id", "name"}, Request());
    (*log)->Record("ep", {"missing"}, Request());  // not logged
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  EXPECT_NE(s.find("\"key\":{\"id\":-3,\"name\":\"c\"}"), std::string::npos) << s;
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 2);
  EXPECT_EQ(s.find("features"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(KeyLogTest, HashesAndSamples) {
  const std::filesystem::path path = TempFile();
  auto log = KeyLog::Open({.path = path.string(), .sample = 0.5, .hash = true});
  ASSERT_TRUE(log.ok());
  core::InferRequest big;
  core::Tensor id{"id", core::DataType::kInt64, {10000}, std::vector<uint8_t>(80000)};
  big.inputs = {id};
  const std::vector<std::string> lines = (*log)->Lines("ep", {"id"}, big, 0);
  EXPECT_GT(lines.size(), 4500u);
  EXPECT_LT(lines.size(), 5500u);
  EXPECT_NE(lines[0].find("\"key_hash\":\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"sample\":0.5"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].find("\"key\":"), std::string::npos);
  EXPECT_FALSE(KeyLog::Open({.path = path.string(), .sample = 0, .hash = false}).ok());
  std::filesystem::remove(path);
}

TEST(KeyLogTest, AKeyHasherReplacesEveryKeyByItsKeyedHash) {
  const std::filesystem::path path = TempFile();
  const features::KeyedHasher hasher("0123456789abcdef-secret");
  auto log =
      KeyLog::Open({.path = path.string(), .sample = 1, .key_hasher = [&](std::string_view key) {
                      return hasher.Hash(key);
                    }});
  ASSERT_TRUE(log.ok());
  const std::vector<std::string> lines = (*log)->Lines("ep", {"id", "name"}, Request(), 1.5);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "{\"ts\":1.500,\"endpoint\":\"ep\",\"key_hash\":\"" +
                          hasher.Hash("{\"id\":7,\"name\":\"a\\\"b\"}") + "\"}\n");
  for (const std::string& line : lines) {
    EXPECT_EQ(line.find("\"key\":"), std::string::npos) << line;
    EXPECT_EQ(line.find("\"id\""), std::string::npos) << line;
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace strata::serving
