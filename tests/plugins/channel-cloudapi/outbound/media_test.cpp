// downloadMedia / uploadMedia over real HTTP against FakeGraphApi, through a real host
// (core HttpClient) — nothing in the code under test is stubbed.
#include "media.h"
#include "fake_graph_api.h"
#include "test_host.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace waflow::cloudapi {
namespace {

namespace fs = std::filesystem;
using test::FakeGraphApi;
using waflow::Rc;

std::string readFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string binaryBytes(std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = static_cast<char>((i * 131 + 7) % 256);  // includes NUL, CR, LF
  }
  return out;
}

class CloudApiMedia : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "waflow-media-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    config_.phone_number_id = "1122334455667";
    config_.access_token = "test-token";
    config_.base_url = fake_.baseUrl();
    config_.graph_api_version = "v23.0";
    config_.timeout = std::chrono::seconds(10);
    config_.media_dir = (dir_ / "media").string();
    config_.media_hosts = {"127.0.0.1"};  // the fake serves media from itself
  }

  // The store for config_ as it is now (tests change the limits first).
  MediaStore& store() {
    store_ = std::make_unique<MediaStore>(config_.media_dir, config_.media_quota,
                                          config_.media_retention);
    store_->load();
    return *store_;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs downloadMedia and returns the error it threw (Rc::kOk if none).
  waflow::Error downloadError(const std::string& id, const std::string& mime = {},
                              const std::string& sha = {}) {
    try {
      host_.run(downloadMedia(host_.host(), config_, store(), id, mime, sha));
    } catch (const waflow::Error& e) {
      return e;
    }
    return waflow::Error(Rc::kOk, "no error");
  }

  std::size_t filesInMediaDir() const {
    if (!fs::exists(config_.media_dir)) {
      return 0;
    }
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(config_.media_dir), fs::directory_iterator()));
  }

  FakeGraphApi fake_;
  test::TestHost host_;
  ChannelConfig config_;
  std::unique_ptr<MediaStore> store_;
  fs::path dir_;
};

TEST_F(CloudApiMedia, DownloadWritesTheFileAndChecksEverything) {
  std::string bytes = binaryBytes(70000);
  std::string id = fake_.addMedia(bytes, "image/jpeg");
  std::string hex = sha256Hex(bytes);

  DownloadedMedia got =
      host_.run(downloadMedia(host_.host(), config_, store(), id, "image/jpeg", hex));
  EXPECT_EQ(got.path, (fs::path(config_.media_dir) / (id + ".jpg")).string());
  EXPECT_EQ(got.mime_type, "image/jpeg");
  EXPECT_EQ(got.size, bytes.size());
  EXPECT_EQ(got.sha256, hex);
  EXPECT_EQ(readFile(got.path), bytes);
  EXPECT_EQ(filesInMediaDir(), 1u);  // no temp file left behind
  EXPECT_EQ(fake_.mediaDownloads(), 1u);
}

TEST_F(CloudApiMedia, Base64HashesAndMimeParametersAreAccepted) {
  std::string bytes = "OggS fake voice note";
  FakeGraphApi::MediaOverrides served;
  served.sha256_base64 = true;  // Meta's webhooks carry base64 hashes
  std::string id = fake_.addMedia(bytes, "audio/ogg", served);
  // The webhook's hash as base64 of the digest, as Meta sends it.
  std::string hex = sha256Hex(bytes);
  std::string raw;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    raw += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  static const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  for (std::size_t i = 0; i < raw.size(); i += 3) {
    uint32_t n = static_cast<unsigned char>(raw[i]) << 16;
    n |= (i + 1 < raw.size() ? static_cast<unsigned char>(raw[i + 1]) : 0) << 8;
    n |= i + 2 < raw.size() ? static_cast<unsigned char>(raw[i + 2]) : 0;
    b64 += kB64[(n >> 18) & 63];
    b64 += kB64[(n >> 12) & 63];
    b64 += i + 1 < raw.size() ? kB64[(n >> 6) & 63] : '=';
    b64 += i + 2 < raw.size() ? kB64[n & 63] : '=';
  }
  EXPECT_EQ(normalizeSha256(b64), hex);

  DownloadedMedia got =
      host_.run(downloadMedia(host_.host(), config_, store(), id, "audio/ogg; codecs=opus", b64));
  EXPECT_EQ(got.sha256, hex);
  EXPECT_TRUE(got.path.ends_with(".ogg"));
  EXPECT_EQ(readFile(got.path), bytes);
}

TEST_F(CloudApiMedia, OverSizeLimitIsRefusedBeforeDownloading) {
  config_.max_media_bytes = 1000;
  std::string id = fake_.addMedia(binaryBytes(1001), "video/mp4");
  waflow::Error e = downloadError(id);
  EXPECT_EQ(e.code(), Rc::kInvalid);
  EXPECT_NE(std::string(e.what()).find("1001 bytes, over max_media_bytes (1000)"),
            std::string::npos)
      << e.what();
  EXPECT_EQ(fake_.mediaDownloads(), 0u);
  EXPECT_EQ(filesInMediaDir(), 0u);
}

TEST_F(CloudApiMedia, UnderstatedSizeIsCaughtOnTheBytesReceived) {
  config_.max_media_bytes = 1000;
  FakeGraphApi::MediaOverrides lie;
  lie.file_size = 10;
  std::string id = fake_.addMedia(binaryBytes(5000), "application/pdf", lie);
  waflow::Error e = downloadError(id);
  EXPECT_EQ(e.code(), Rc::kInvalid) << e.what();
  EXPECT_NE(std::string(e.what()).find("passed max_media_bytes (1000) and was aborted"),
            std::string::npos)
      << e.what();
  EXPECT_EQ(filesInMediaDir(), 0u);
}

// Graph's file_size lies and no Content-Length warns: the transfer itself must stop at the cap,
// not after the whole body was taken in.
TEST_F(CloudApiMedia, AnOversizedStreamIsAbortedAtTheCapAndLeavesNoPartialFile) {
  config_.max_media_bytes = 1024 * 1024;
  FakeGraphApi::MediaOverrides lie;
  lie.file_size = 100;
  lie.chunked = true;
  std::string id = fake_.addMedia(binaryBytes(48 * 1024 * 1024), "video/mp4", lie);
  try {
    host_.run(downloadMedia(host_.host(), config_, store(), id, "", ""));
    FAIL() << "an oversized download was kept";
  } catch (const MediaRefused& e) {
    EXPECT_EQ(e.reason(), "too_large");
  }
  for (int i = 0; i < 200 && fake_.mediaDownloadsCut() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(fake_.mediaDownloadsCut(), 1u);  // the fake could not write the whole body
  EXPECT_EQ(filesInMediaDir(), 0u);
}

TEST_F(CloudApiMedia, TheTokenGoesOnlyToMediaHosts) {
  // The same bytes, served by the fake under the name "localhost": loopback, but not listed.
  std::string served = fake_.addMedia("bytes", "image/png");
  FakeGraphApi::MediaOverrides elsewhere;
  elsewhere.url = "http://localhost:" + std::to_string(fake_.port()) +
                  "/whatsapp_business/attachments/?mid=" + served;
  std::string id = fake_.addMedia("bytes", "image/png", elsewhere);
  try {
    host_.run(downloadMedia(host_.host(), config_, store(), id, "", ""));
    FAIL() << "the token was sent to a host outside media_hosts";
  } catch (const MediaRefused& e) {
    EXPECT_EQ(e.reason(), "host_not_allowed");
    EXPECT_NE(std::string(e.what()).find("'localhost' is not in media_hosts"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(fake_.mediaDownloads(), 0u);

  config_.media_hosts = {"127.0.0.1", "localhost"};
  DownloadedMedia got = host_.run(downloadMedia(host_.host(), config_, store(), id, "", ""));
  EXPECT_EQ(readFile(got.path), "bytes");
}

TEST_F(CloudApiMedia, AFileLargerThanTheQuotaIsRefusedBeforeDownloading) {
  config_.media_quota = 100;
  std::string id = fake_.addMedia(binaryBytes(101), "image/png");
  try {
    host_.run(downloadMedia(host_.host(), config_, store(), id, "", ""));
    FAIL() << "a file larger than the quota was kept";
  } catch (const MediaRefused& e) {
    EXPECT_EQ(e.reason(), "quota");
  }
  EXPECT_EQ(fake_.mediaDownloads(), 0u);
}

TEST_F(CloudApiMedia, ShaMismatchKeepsNoFile) {
  FakeGraphApi::MediaOverrides wrong;
  wrong.sha256 = sha256Hex("something else");
  std::string id = fake_.addMedia("real bytes", "image/png", wrong);
  waflow::Error e = downloadError(id);
  EXPECT_EQ(e.code(), Rc::kError);
  EXPECT_NE(std::string(e.what()).find("does not match the Graph API's"), std::string::npos)
      << e.what();
  EXPECT_EQ(filesInMediaDir(), 0u);

  // The webhook's hash is checked too.
  std::string id2 = fake_.addMedia("real bytes", "image/png");
  waflow::Error e2 = downloadError(id2, "image/png", sha256Hex("other"));
  EXPECT_EQ(e2.code(), Rc::kError);
  EXPECT_NE(std::string(e2.what()).find("does not match the webhook's"), std::string::npos)
      << e2.what();
  EXPECT_EQ(filesInMediaDir(), 0u);
}

TEST_F(CloudApiMedia, MimeMismatch) {
  std::string id = fake_.addMedia("GIF89a", "image/gif");
  waflow::Error e = downloadError(id, "image/jpeg");
  EXPECT_EQ(e.code(), Rc::kError);
  EXPECT_NE(std::string(e.what()).find("the webhook said image/jpeg but the Graph API reports "
                                       "image/gif"),
            std::string::npos)
      << e.what();
  EXPECT_EQ(fake_.mediaDownloads(), 0u);
}

TEST_F(CloudApiMedia, UnknownIdWrongTokenAndUnsafeId) {
  waflow::Error unknown = downloadError("999");
  EXPECT_EQ(unknown.code(), Rc::kInvalid) << unknown.what();
  EXPECT_NE(std::string(unknown.what()).find("looking up media 999: Meta error 100"),
            std::string::npos)
      << unknown.what();

  std::string id = fake_.addMedia("x", "image/png");
  config_.access_token = "expired";
  waflow::Error auth = downloadError(id);
  EXPECT_EQ(auth.code(), Rc::kAuth) << auth.what();
  EXPECT_NE(std::string(auth.what()).find("Meta error 190"), std::string::npos);

  uint64_t before = fake_.requestCount();
  waflow::Error unsafe = downloadError("../../etc/passwd");
  EXPECT_EQ(unsafe.code(), Rc::kInvalid);
  EXPECT_EQ(fake_.requestCount(), before);
}

TEST_F(CloudApiMedia, UploadIsMultipartAndRoundTrips) {
  std::string bytes = binaryBytes(4096) + "\r\n--not-a-boundary\r\n";
  std::string id = host_.run(
      uploadMedia(host_.host(), config_, bytes, "application/pdf", "invoice \"May\".pdf"));
  EXPECT_FALSE(id.empty());
  auto uploads = fake_.uploads();
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0].id, id);
  EXPECT_EQ(uploads[0].bytes, bytes);
  EXPECT_EQ(uploads[0].mime_type, "application/pdf");
  EXPECT_EQ(uploads[0].filename, "invoice _May_.pdf");
  EXPECT_EQ(uploads[0].phone_number_id, "1122334455667");

  DownloadedMedia got =
      host_.run(downloadMedia(host_.host(), config_, store(), id, "application/pdf", ""));
  EXPECT_EQ(readFile(got.path), bytes);
  EXPECT_TRUE(got.path.ends_with(id + ".pdf"));
}

TEST_F(CloudApiMedia, UploadErrors) {
  EXPECT_THROW(host_.run(uploadMedia(host_.host(), config_, "", "image/png", "a.png")),
               waflow::Error);
  config_.access_token = "wrong";
  try {
    host_.run(uploadMedia(host_.host(), config_, "abc", "image/png", "a.png"));
    FAIL() << "upload with a wrong token succeeded";
  } catch (const waflow::Error& e) {
    EXPECT_EQ(e.code(), Rc::kAuth);
  }
  EXPECT_TRUE(fake_.uploads().empty());
}

TEST(CloudApiMediaHelpers, ExtensionsAndHashes) {
  EXPECT_EQ(extensionForMime("image/jpeg"), "jpg");
  EXPECT_EQ(extensionForMime("Audio/OGG; codecs=opus"), "ogg");
  EXPECT_EQ(extensionForMime("application/x-unknown"), "bin");
  EXPECT_EQ(sha256Hex("test"), "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  EXPECT_EQ(normalizeSha256("9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  EXPECT_EQ(normalizeSha256("n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  EXPECT_EQ(normalizeSha256("not a hash"), "");
}

}  // namespace
}  // namespace waflow::cloudapi
