// MediaStore on a real temporary directory: quota (oldest first), retention, partial files.
#include "media_store.h"

#include <waflow/sdk/types.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace waflow::cloudapi {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class MediaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "waflow-store-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A file of `bytes` bytes last written `age` ago.
  fs::path file(const std::string& name, std::size_t bytes, fs::file_time_type::duration age = {}) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << std::string(bytes, 'x');
    fs::last_write_time(p, fs::file_time_type::clock::now() - age);
    return p;
  }

  fs::path dir_;
};

TEST_F(MediaStoreTest, ACommitPastTheQuotaDeletesTheOldestFilesFirst) {
  file("oldest.jpg", 400, 3h);
  file("older.jpg", 400, 2h);
  file("recent.jpg", 100, 1h);
  MediaStore store(dir_, 1000, 0ms);
  store.load();
  EXPECT_EQ(store.usedBytes(), 900u);

  fs::path temp = store.temporaryPath("new");
  std::ofstream(temp, std::ios::binary) << std::string(300, 'y');
  EXPECT_EQ(store.commit(temp, "new.pdf", 300), 1u);  // 1200 > 1000: the oldest goes
  EXPECT_FALSE(fs::exists(dir_ / "oldest.jpg"));
  EXPECT_TRUE(fs::exists(dir_ / "older.jpg"));
  EXPECT_TRUE(fs::exists(dir_ / "recent.jpg"));
  EXPECT_TRUE(fs::exists(dir_ / "new.pdf"));
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_EQ(store.usedBytes(), 800u);
}

TEST_F(MediaStoreTest, AFileLargerThanTheWholeQuotaIsRefusedAndItsPartialRemoved) {
  file("keep.jpg", 10);
  MediaStore store(dir_, 1000, 0ms);
  store.load();
  fs::path temp = store.temporaryPath("big");
  std::ofstream(temp, std::ios::binary) << std::string(1001, 'y');
  EXPECT_THROW(store.commit(temp, "big.pdf", 1001), waflow::Error);
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_FALSE(fs::exists(dir_ / "big.pdf"));
  EXPECT_TRUE(fs::exists(dir_ / "keep.jpg"));
  EXPECT_THROW(store.checkFits("media 1", 1001), waflow::Error);
  EXPECT_NO_THROW(store.checkFits("media 1", 1000));
}

TEST_F(MediaStoreTest, ReplacingAFileCountsItOnce) {
  MediaStore store(dir_, 1000, 0ms);
  store.load();
  for (int i = 0; i < 3; ++i) {
    fs::path temp = store.temporaryPath("same");
    std::ofstream(temp, std::ios::binary) << std::string(600, 'y');
    EXPECT_EQ(store.commit(temp, "same.jpg", 600), 0u);
  }
  EXPECT_EQ(store.usedBytes(), 600u);
}

TEST_F(MediaStoreTest, TheSweepDeletesOnlyFilesPastTheRetention) {
  file("expired.ogg", 10, 48h);
  file("fresh.ogg", 10, 1h);
  MediaStore store(dir_, 0, 24h);
  store.load();
  fs::path in_progress = store.temporaryPath("downloading");
  std::ofstream(in_progress) << "partial";
  fs::last_write_time(in_progress, fs::file_time_type::clock::now() - 48h);
  MediaStore::Swept swept = store.sweep();
  EXPECT_EQ(swept.expired, 1u);
  EXPECT_FALSE(fs::exists(dir_ / "expired.ogg"));
  EXPECT_TRUE(fs::exists(dir_ / "fresh.ogg"));
  EXPECT_TRUE(fs::exists(in_progress));  // a download in progress is not the sweep's
  EXPECT_EQ(store.usedBytes(), 10u);

  MediaStore forever(dir_, 0, 0ms);
  forever.load();
  EXPECT_EQ(forever.sweep(fs::file_time_type::clock::now() + 10000h).expired, 0u);
}

TEST_F(MediaStoreTest, LoadRemovesPartialFilesLeftByACrashAndCreatesTheDirectory) {
  file(".partial-123-abcdef", 50);
  file("123.jpg", 50);
  MediaStore store(dir_, 0, 0ms);
  EXPECT_EQ(store.load().partial, 1u);
  EXPECT_FALSE(fs::exists(dir_ / ".partial-123-abcdef"));
  EXPECT_TRUE(fs::exists(dir_ / "123.jpg"));

  MediaStore nested(dir_ / "a" / "b", 0, 0ms);
  nested.load();
  EXPECT_TRUE(fs::is_directory(dir_ / "a" / "b"));
  EXPECT_TRUE(nested.temporaryPath("9").filename().string().starts_with(".partial-9-"));
}

}  // namespace
}  // namespace waflow::cloudapi
