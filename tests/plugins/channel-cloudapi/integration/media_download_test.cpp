// Inbound media end to end: the real daemon and channel-cloudapi download documents from the fake
// Graph API over real HTTP, streamed to disk within max_media_bytes, at most
// max_concurrent_downloads at once, with media_dir kept within media_quota and media_retention.
#include "cloudapi_daemon_config.h"
#include "daemon/daemon_process.h"
#include "fake_graph_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

namespace waflow::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Json = nlohmann::json;
using namespace std::chrono_literals;

// `n` bytes that differ from file to file (`seed`), NULs and newlines included.
std::string documentBytes(std::size_t n, uint32_t seed) {
  std::string out(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : out) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The daemon's peak resident memory (VmHWM), in MiB, for the report.
long peakRssMiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) {
      return std::stol(line.substr(6)) / 1024;
    }
  }
  return -1;
}

class MediaDownloadTest : public ::testing::Test {
 protected:
  void create(const std::string& extra) {
    daemon_ = std::make_unique<DaemonProcess>(cloudApiConfig(fake_, extra),
                                              std::vector<std::string>{}, cloudApiSecrets());
    fs::create_directories(mediaDir());
  }
  void start() { ASSERT_TRUE(daemon_->start()) << daemon_->log(); }
  fs::path mediaDir() const { return daemon_->dir() / "data" / "plugins" / "wa" / "media"; }

  // One webhook carrying a document message for each media id, each from its own customer.
  std::string documentsWebhook(const std::vector<std::string>& media_ids) {
    Json body = Json::parse(fake_.buildTextWebhook(kPhoneNumberId, "628100", "Budi", "x"));
    Json& value = body["entry"][0]["changes"][0]["value"];
    Json message = value["messages"][0];
    message.erase("text");
    message["type"] = "document";
    value["messages"] = Json::array();
    value["contacts"] = Json::array();
    for (std::size_t i = 0; i < media_ids.size(); ++i) {
      std::string from = "62810" + std::to_string(1000 + i);
      message["id"] = "wamid.DOC" + std::to_string(i) + "-" + media_ids[i];
      message["from"] = from;
      message["document"] = {{"id", media_ids[i]},
                             {"mime_type", "application/pdf"},
                             {"filename", "katalog.pdf"},
                             {"caption", "dokumen " + std::to_string(i)}};
      value["messages"].push_back(message);
      value["contacts"].push_back({{"wa_id", from}, {"profile", {{"name", "Pelanggan"}}}});
    }
    return body.dump();
  }

  std::size_t countFiles(std::string_view prefix = "") const {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(mediaDir())) {
      n += e.path().filename().string().starts_with(prefix) ? 1 : 0;
    }
    return n;
  }

  bool waitForLog(const std::string& text, std::chrono::milliseconds timeout = 60s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (daemon_->log().find(text) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      std::this_thread::sleep_for(50ms);
    }
    return true;
  }

  std::string metrics() { return http("GET", daemon_->url("/metrics")).body; }
  static std::string event(const std::string& name, int value) {
    return "waflow_plugin_events_total{event=\"" + name +
           "\",instance=\"wa\",plugin=\"channel-cloudapi\"} " + std::to_string(value);
  }

  FakeGraphApi fake_;
  std::unique_ptr<DaemonProcess> daemon_;
};

// Ten documents of up to 64 MiB at once: each is streamed to disk (never whole in memory), at
// most three at a time, and the one whose Graph file_size lies is cut off at max_media_bytes.
TEST_F(MediaDownloadTest, LargeDocumentsStreamToDiskWithinTheCapAndTheConcurrencyBound) {
  constexpr std::size_t kDocument = 24 * 1024 * 1024;
  create("      max_media_bytes: 40MiB\n      max_concurrent_downloads: 3\n");
  start();
  fake_.setMediaDelay(200ms);  // so downloads overlap, and the bound shows
  std::vector<std::string> ids;
  std::vector<std::string> contents;
  for (uint32_t i = 0; i < 9; ++i) {
    contents.push_back(documentBytes(kDocument, i));
    ids.push_back(fake_.addMedia(contents.back(), "application/pdf"));
  }
  FakeGraphApi::MediaOverrides lie;
  lie.file_size = 1000;  // "small", and no Content-Length either
  lie.chunked = true;
  ids.push_back(fake_.addMedia(documentBytes(64 * 1024 * 1024, 99), "application/pdf", lie));

  auto r = FakeGraphApi::postWebhook(daemon_->url("/webhooks/wa"), kSecret, documentsWebhook(ids));
  ASSERT_EQ(r.status, 200) << r.body << r.error;
  ASSERT_TRUE(waitForLog("not downloaded (too_large)")) << daemon_->log();
  for (int i = 0; i < 1200 && countFiles() < 9; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(countFiles(), 9u) << daemon_->log();
  for (std::size_t i = 0; i < 9; ++i) {
    EXPECT_TRUE(readFile(mediaDir() / (ids[i] + ".pdf")) == contents[i]) << "document " << i;
  }
  EXPECT_FALSE(fs::exists(mediaDir() / (ids[9] + ".pdf")));
  EXPECT_EQ(countFiles(".partial-"), 0u);
  EXPECT_LE(fake_.maxConcurrentMediaDownloads(), 3);
  EXPECT_GE(fake_.maxConcurrentMediaDownloads(), 2);
  for (int i = 0; i < 100 && fake_.mediaDownloadsCut() == 0; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(fake_.mediaDownloadsCut(), 1u);  // the oversized one was broken off, not read whole

  // Every message reached the flows (the echo answers each caption), the refused one too.
  ASSERT_TRUE(fake_.waitForSends(10, 30s)) << daemon_->log();
  std::string m = metrics();
  EXPECT_THAT(m, HasSubstr(event("media_downloaded", 9)));
  EXPECT_THAT(m, HasSubstr(event("media_refused_too_large", 1)));
  std::cout << "[ measure  ] waflow peak RSS (VmHWM) after 9 x 24 MiB + 1 x 64 MiB: "
            << peakRssMiB(daemon_->pid()) << " MiB\n";
}

// The HTTP client keeps at most 128 MiB of a body in memory; a streamed download is bounded by
// max_media_bytes alone.
TEST_F(MediaDownloadTest, AFileBeyondTheHttpClientsMemoryLimitIsKept) {
  constexpr std::size_t kSize = 130 * 1024 * 1024;
  create("      max_media_bytes: 200MiB\n");
  start();
  std::string id = fake_.addMedia(documentBytes(kSize, 7), "application/pdf");
  auto r = FakeGraphApi::postWebhook(daemon_->url("/webhooks/wa"), kSecret, documentsWebhook({id}));
  ASSERT_EQ(r.status, 200);
  fs::path file = mediaDir() / (id + ".pdf");
  for (int i = 0; i < 1200 && !fs::exists(file); ++i) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(fs::exists(file)) << daemon_->log();
  EXPECT_EQ(fs::file_size(file), kSize);
}

// Files past media_retention go when the channel starts (and on every sweep); the oldest go when
// a new file would pass media_quota; a crash's partial files go at start.
TEST_F(MediaDownloadTest, RetentionAndQuotaKeepTheMediaDirectoryBounded) {
  create("      max_media_bytes: 500KB\n      media_quota: 1MB\n      media_retention: 30d\n");
  auto write = [&](const std::string& name, std::size_t bytes, fs::file_time_type::duration age) {
    std::ofstream(mediaDir() / name, std::ios::binary) << std::string(bytes, 'x');
    fs::last_write_time(mediaDir() / name, fs::file_time_type::clock::now() - age);
  };
  write("expired.jpg", 1000, 40 * 24h);
  write("old.jpg", 600000, 2h);
  write("fresh.jpg", 300000, 1h);
  write(".partial-123-abcdef", 1000, 1h);
  start();
  ASSERT_TRUE(waitForLog("older than media_retention")) << daemon_->log();
  EXPECT_FALSE(fs::exists(mediaDir() / "expired.jpg"));
  EXPECT_FALSE(fs::exists(mediaDir() / ".partial-123-abcdef"));
  EXPECT_TRUE(fs::exists(mediaDir() / "old.jpg"));

  std::string id = fake_.addMedia(documentBytes(200000, 3), "application/pdf");
  auto r = FakeGraphApi::postWebhook(daemon_->url("/webhooks/wa"), kSecret, documentsWebhook({id}));
  ASSERT_EQ(r.status, 200);
  ASSERT_TRUE(waitForLog("oldest media file(s)")) << daemon_->log();
  EXPECT_TRUE(fs::exists(mediaDir() / (id + ".pdf")));
  EXPECT_TRUE(fs::exists(mediaDir() / "fresh.jpg"));
  EXPECT_FALSE(fs::exists(mediaDir() / "old.jpg"));  // 600 + 300 + 200 KB > 1 MB: oldest first
  std::string m = metrics();
  EXPECT_THAT(m, HasSubstr(event("media_expired", 1)));
  EXPECT_THAT(m, HasSubstr(event("media_evicted", 1)));
}

}  // namespace
}  // namespace waflow::test
