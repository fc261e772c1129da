#include "batch/chunk_reader.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace strata::batch {
namespace {

TEST(ChunkReaderTest, CutsWholeLinesIntoFixedChunks) {
  const std::string path =
      std::filesystem::temp_directory_path() / ("strata-chunks-" + std::to_string(::getpid()));
  std::ofstream(path) << "h1,h2\r\n1,a\n\n2,b\n3,c\r\n4,d";
  auto reader = ChunkReader::Open(path, true, 3);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->header(), "h1,h2");
  auto first = (*reader)->Next(false);
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->lines, (std::vector<std::string_view>{"1,a", "2,b", "3,c"}));
  EXPECT_EQ((*first)->line_numbers, (std::vector<int64_t>{2, 4, 5}));
  EXPECT_EQ((*reader)->next_index(), 1);
  auto second = (*reader)->Next(true);
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->index, 1);
  EXPECT_EQ((*second)->first_row, 3);
  EXPECT_EQ((*second)->rows, 1);
  EXPECT_FALSE((*reader)->Next(false)->has_value());
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace strata::batch
