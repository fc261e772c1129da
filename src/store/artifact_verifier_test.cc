#include "store/artifact_verifier.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <random>

#include "gtest/gtest.h"
#include "store/artifact_signer.h"
#include "store/ed25519_test_keys.h"

namespace strata::store {
namespace {
namespace fs = std::filesystem;

void Write(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class ArtifactVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("artifact_verifier_" + std::to_string(std::random_device{}()));
    Write(dir_ / "model.json", "{\"trees\":[]}");
    Write(dir_ / "sub" / "weights.bin", "0123456789");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void WriteSums() { Write(dir_ / kChecksumsFile, *ChecksumsOf(dir_)); }

  // A fresh Ed25519 key pair; signs SHA256SUMS and returns the public PEM.
  std::string SignSums(bool sign = true) {
    EVP_PKEY* key = nullptr;
    EVP_PKEY_CTX* kctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
    EVP_PKEY_keygen_init(kctx);
    EVP_PKEY_keygen(kctx, &key);
    EVP_PKEY_CTX_free(kctx);
    if (sign) {
      const std::string sums = Read(dir_ / kChecksumsFile);
      unsigned char signature[64];
      size_t length = sizeof(signature);
      EVP_MD_CTX* ctx = EVP_MD_CTX_new();
      EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key);
      EVP_DigestSign(ctx, signature, &length, reinterpret_cast<const unsigned char*>(sums.data()),
                     sums.size());
      EVP_MD_CTX_free(ctx);
      Write(dir_ / kSignatureFile, std::string(reinterpret_cast<char*>(signature), length));
    }
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<size_t>(size));
    BIO_free(bio);
    EVP_PKEY_free(key);
    return pem;
  }

  fs::path dir_;
};

TEST(Sha256Test, KnownVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ParseChecksumsTest, RefusesPathsOutsideTheVersion) {
  const std::string hex(64, 'a');
  EXPECT_TRUE(ParseChecksums(hex + "  model.json\n" + hex + " *sub/x\n").ok());
  EXPECT_FALSE(ParseChecksums(hex + "  ../other/model.json\n").ok());
  EXPECT_FALSE(ParseChecksums(hex + "  /etc/passwd\n").ok());
  EXPECT_FALSE(ParseChecksums("nothex  model.json\n").ok());
}

TEST_F(ArtifactVerifierTest, NoChecksumsFileIsAcceptedWithoutATrustedKey) {
  EXPECT_TRUE(ArtifactVerifier().Verify(dir_).ok());
}

TEST_F(ArtifactVerifierTest, MatchingFilesVerify) {
  WriteSums();
  EXPECT_TRUE(ArtifactVerifier().Verify(dir_).ok()) << ArtifactVerifier().Verify(dir_);
}

TEST_F(ArtifactVerifierTest, ATamperedFileIsNamed) {
  WriteSums();
  Write(dir_ / "sub" / "weights.bin", "0123456780");
  const absl::Status status = ArtifactVerifier().Verify(dir_);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("sub/weights.bin"), std::string_view::npos) << status;
}

TEST_F(ArtifactVerifierTest, AMissingFileIsNamed) {
  WriteSums();
  fs::remove(dir_ / "model.json");
  const absl::Status status = ArtifactVerifier().Verify(dir_);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("model.json"), std::string_view::npos) << status;
}

TEST_F(ArtifactVerifierTest, ASignedListVerifiesWithItsKey) {
  WriteSums();
  auto verifier = ArtifactVerifier::WithTrustedKey(SignSums());
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  EXPECT_TRUE((*verifier)->Verify(dir_).ok()) << (*verifier)->Verify(dir_);
  // The list edited after signing no longer verifies.
  Write(dir_ / kChecksumsFile, Read(dir_ / kChecksumsFile) + "\n");
  EXPECT_EQ((*verifier)->Verify(dir_).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ArtifactVerifierTest, UnsignedOrOtherKeyIsRefused) {
  WriteSums();
  auto unsigned_verifier = ArtifactVerifier::WithTrustedKey(SignSums(/*sign=*/false));
  ASSERT_TRUE(unsigned_verifier.ok());
  EXPECT_EQ((*unsigned_verifier)->Verify(dir_).code(), absl::StatusCode::kFailedPrecondition);
  SignSums();  // signed by a key the verifier does not trust
  const absl::Status status = (*unsigned_verifier)->Verify(dir_);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("signature"), std::string_view::npos) << status;
  fs::remove(dir_ / kChecksumsFile);
  EXPECT_EQ((*unsigned_verifier)->Verify(dir_).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ArtifactVerifierKeyTest, RefusesWhatIsNotAnEd25519Key) {
  EXPECT_FALSE(ArtifactVerifier::WithTrustedKey("not a key").ok());
}

TEST_F(ArtifactVerifierTest, WhatTheSignerSignsTheVerifierTrusts) {
  const auto [private_pem, public_pem] = testing::Ed25519KeyPair();
  const fs::path key_file = dir_.string() + ".key.pem";
  Write(key_file, private_pem);
  absl::StatusOr<ArtifactSigner> signer = ArtifactSigner::WithKeyFile(key_file);
  fs::remove(key_file);
  ASSERT_TRUE(signer.ok()) << signer.status();
  ASSERT_TRUE(signer->SignDirectory(dir_).ok());
  auto verifier = ArtifactVerifier::WithTrustedKey(public_pem);
  ASSERT_TRUE(verifier.ok());
  EXPECT_TRUE((*verifier)->Verify(dir_).ok()) << (*verifier)->Verify(dir_);
  Write(dir_ / "sub" / "weights.bin", "tampered");
  EXPECT_EQ((*verifier)->Verify(dir_).code(), absl::StatusCode::kDataLoss);
}

TEST_F(ArtifactVerifierTest, ASignerWithoutAKeyWritesChecksumsOnly) {
  ASSERT_TRUE(ArtifactSigner().SignDirectory(dir_).ok());
  EXPECT_TRUE(fs::exists(dir_ / kChecksumsFile));
  EXPECT_FALSE(fs::exists(dir_ / kSignatureFile));
  EXPECT_TRUE(ArtifactVerifier().Verify(dir_).ok());
  ASSERT_TRUE(ArtifactSigner().SignFile(dir_ / "model.json").ok());
  EXPECT_EQ(Read(dir_.string() + "/model.json.SHA256SUMS"),
            Sha256Hex("{\"trees\":[]}") + "  model.json\n");
}

TEST_F(ArtifactVerifierTest, ASignerRefusesAFileThatIsNotAnEd25519Key) {
  EXPECT_EQ(ArtifactSigner::WithKeyFile(dir_ / "model.json").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace strata::store
