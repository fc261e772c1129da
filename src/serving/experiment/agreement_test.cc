#include "serving/experiment/agreement.h"

#include "gtest/gtest.h"
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

}  // namespace
}  // namespace strata::serving
