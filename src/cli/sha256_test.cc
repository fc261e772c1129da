#include "cli/sha256.h"

#include <fstream>

#include "gtest/gtest.h"

namespace strata::cli {
namespace {

TEST(Sha256Test, MatchesKnownDigests) {
  EXPECT_EQ(Sha256::Of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256::Of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, PiecesAndFilesHashLikeTheWhole) {
  Sha256 sha;
  sha.Update("a");
  sha.Update("bc");
  EXPECT_EQ(sha.HexDigest(), Sha256::Of("abc"));
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / "strata_sha256_test.txt";
  std::ofstream(path) << "abc";
  EXPECT_EQ(*Sha256::OfFile(path), Sha256::Of("abc"));
  std::filesystem::remove(path);
  EXPECT_FALSE(Sha256::OfFile(path).ok());
}

}  // namespace
}  // namespace strata::cli
