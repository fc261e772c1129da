#include "serving/experiment/agreement.h"

#include "gtest/gtest.h"
#include "serving/experiment/shadow_endpoint.h"
#include "serving/experiment/test_tensors.h"

namespace strata::serving {
namespace {

using testing::Response;

TEST(AgreementTest, OneProbabilityUsesTheHalfThreshold) {
  absl::StatusOr<std::vector<RowAgreement>> rows =
      CompareResponses(Response({0.2f, 0.6f, 0.9f}, 1), Response({0.25f, 0.4f, 0.9f}, 1));
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_FALSE((*rows)[0].class_differs);
  EXPECT_NEAR((*rows)[0].score_difference, 0.05, 1e-6);
  EXPECT_TRUE((*rows)[1].class_differs);
  EXPECT_NEAR((*rows)[1].score_difference, 0.2, 1e-6);
  EXPECT_FALSE((*rows)[2].class_differs);
  EXPECT_EQ((*rows)[2].score_difference, 0);
}

TEST(AgreementTest, SeveralScoresUseArgmaxAndTheLargestDifference) {
  absl::StatusOr<std::vector<RowAgreement>> rows =
      CompareResponses(Response({0.1f, 0.7f, 0.2f}, 3), Response({0.5f, 0.4f, 0.1f}, 3));
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE((*rows)[0].class_differs);
  EXPECT_NEAR((*rows)[0].score_difference, 0.4, 1e-6);
}

TEST(AgreementTest, ComparesOnlyTheRowsAsked) {
  absl::StatusOr<std::vector<RowAgreement>> rows = CompareResponses(
      Response({0.1f, 0.9f}, 1), Response({0.9f, 0.9f}, 1), std::vector<size_t>{1});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_FALSE((*rows)[0].class_differs);
}

TEST(AgreementTest, RefusesResponsesOfDifferentShapes) {
  EXPECT_FALSE(CompareResponses(Response({0.1f, 0.9f}, 1), Response({0.1f}, 1)).ok());
  core::InferResponse empty;
  EXPECT_FALSE(CompareResponses(empty, Response({0.1f}, 1)).ok());
}

// A table shadow compares only the rows the table answered.
TEST(TableRowsTest, ReadsLayerOrFound) {
  core::InferResponse hybrid = Response({0.1f, 0.2f, 0.3f}, 1);
  core::Tensor layer{.name = "layer", .dtype = core::DataType::kBytes, .shape = {3}, .data = {}};
  for (const char* l : {"table", "model", "table"}) core::AppendBytesElement(l, layer.data);
  hybrid.outputs.push_back(layer);
  EXPECT_EQ(TableRows(hybrid), (std::vector<size_t>{0, 2}));
  core::InferResponse stat = Response({0.1f, 0.2f}, 1);
  stat.outputs.push_back(
      {.name = "found", .dtype = core::DataType::kBool, .shape = {2}, .data = {0, 1}});
  EXPECT_EQ(TableRows(stat), (std::vector<size_t>{1}));
  EXPECT_FALSE(TableRows(Response({0.1f}, 1)).has_value());
}

}  // namespace
}  // namespace strata::serving
