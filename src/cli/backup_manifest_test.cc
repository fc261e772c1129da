#include "cli/backup_manifest.h"

#include "gtest/gtest.h"

namespace strata::cli {
namespace {

BackupManifest Example() {
  BackupManifest m;
  m.created = "2026-12-02T10:00:00Z";
  m.strata_version = "0.1.0";
  m.repository = "/repo";
  m.tables = "/repo/tables";
  m.redis = "redis://127.0.0.1:6379";
  m.models = {{.name = "m", .versions = {1, 2}, .labels = {{"stable", 1}}, .default_version = 2}};
  m.tables_held = {{.name = "t",
                    .store = "redis",
                    .current = 3,
                    .versions = {{.version = 3, .rows = 10, .checksum = "10:abc"}}}};
  m.files = {
      {.path = "repository/models/m/config.yaml", .size = 12, .sha256 = std::string(64, 'a')}};
  return m;
}

TEST(BackupManifestTest, RoundTrips) {
  const BackupManifest m = Example();
  const std::string yaml = BackupManifestToYaml(m);
  EXPECT_NE(yaml.find("rollouts: []"), std::string::npos) << yaml;
  absl::StatusOr<BackupManifest> parsed = ParseBackupManifest(yaml);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->redis, m.redis);
  ASSERT_EQ(parsed->models.size(), 1u);
  EXPECT_EQ(parsed->models[0].versions, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(parsed->models[0].labels.at("stable"), 1);
  EXPECT_EQ(parsed->models[0].default_version, 2);
  ASSERT_EQ(parsed->tables_held.size(), 1u);
  EXPECT_EQ(parsed->tables_held[0].current, 3);
  EXPECT_EQ(parsed->tables_held[0].versions[0].checksum, "10:abc");
  ASSERT_EQ(parsed->files.size(), 1u);
  EXPECT_EQ(parsed->files[0].size, 12u);
}

TEST(BackupManifestTest, RefusesAnotherFormatAndGarbage) {
  std::string yaml = BackupManifestToYaml(Example());
  yaml.replace(yaml.find("format: 1"), 9, "format: 9");
  EXPECT_EQ(ParseBackupManifest(yaml).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ParseBackupManifest("[1, 2").status().code(), absl::StatusCode::kDataLoss);
}

TEST(BackupManifestTest, Sha256SumsReadBackWhatTheyWrite) {
  const std::string text = Sha256Sums(Example().files, std::string(64, 'b'));
  absl::StatusOr<std::map<std::string, std::string>> sums = ParseSha256Sums(text);
  ASSERT_TRUE(sums.ok()) << sums.status();
  EXPECT_EQ(sums->at("repository/models/m/config.yaml"), std::string(64, 'a'));
  EXPECT_EQ(sums->at("MANIFEST.yaml"), std::string(64, 'b'));
  EXPECT_FALSE(ParseSha256Sums("abc  x\n").ok());
}

}  // namespace
}  // namespace strata::cli
