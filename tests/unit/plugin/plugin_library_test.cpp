// The loader's checks: each way a file can fail to be a usable plugin gives
// a message naming the reason (and both ABI versions where they differ).
#include "plugin/plugin_library.h"
#include "plugin/plugin_catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include <fmt/format.h>

namespace waflow::core::plugin {
namespace {

using ::testing::HasSubstr;

const std::filesystem::path kTestPlugins = WAFLOW_TEST_PLUGIN_DIR;
const std::filesystem::path kPlugins = WAFLOW_PLUGIN_DIR;
const std::string kHostAbi = fmt::format("{}.{}", WAFLOW_ABI_MAJOR, WAFLOW_ABI_MINOR);
const std::string kNewerAbi = fmt::format("{}.{}", WAFLOW_ABI_MAJOR, WAFLOW_ABI_MINOR + 1);
const std::string kOtherMajorAbi = fmt::format("{}.{}", WAFLOW_ABI_MAJOR + 1, WAFLOW_ABI_MINOR);

std::string openError(const std::filesystem::path& file, AbiVersion host = {}) {
  std::string error;
  auto lib = PluginLibrary::open(file, host, &error);
  EXPECT_EQ(lib, nullptr) << file;
  return error;
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("waflow-plugin-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(PluginLibrary, LoadsARealPluginAndReadsItsDescriptor) {
  std::string error;
  auto lib = PluginLibrary::open(kPlugins / "waflow-plugin-channel-sandbox.so", {}, &error);
  ASSERT_NE(lib, nullptr) << error;
  EXPECT_EQ(lib->name(), "channel-sandbox");
  EXPECT_EQ(lib->kind(), WAFLOW_KIND_CHANNEL);
  EXPECT_EQ(lib->kindName(), "channel");
  EXPECT_EQ(lib->abiVersion(), kHostAbi);
  EXPECT_NE(lib->channelApi(), nullptr);
  EXPECT_EQ(lib->aiApi(), nullptr);
  auto keys = lib->configKeys();
  auto it = std::find_if(keys.begin(), keys.end(),
                         [](const ConfigKey& k) { return k.name == "verify_token"; });
  ASSERT_NE(it, keys.end());
  EXPECT_EQ(it->type, "string");
  EXPECT_EQ(it->default_value, "\"sandbox\"");
  EXPECT_FALSE(it->description.empty());
}

TEST(PluginLibrary, RefusesAFileThatIsNotASharedLibrary) {
  TempDir dir;
  auto file = dir.path() / "waflow-plugin-junk.so";
  std::ofstream(file) << "this is a text file, not ELF\n";
  EXPECT_THAT(openError(file), HasSubstr("not a shared library"));
}

TEST(PluginLibrary, RefusesAnElfFileThatCannotBeLoaded) {
  TempDir dir;
  auto file = dir.path() / "waflow-plugin-truncated.so";
  std::ofstream(file, std::ios::binary) << "\x7f"
                                           "ELF and then garbage";
  EXPECT_THAT(openError(file), HasSubstr("cannot be loaded"));
}

TEST(PluginLibrary, RefusesALibraryWithoutTheEntrySymbol) {
  EXPECT_THAT(openError(kTestPlugins / "waflow-plugin-no-entry.so"),
              HasSubstr("entry symbol 'waflow_plugin_entry' is missing"));
}

TEST(PluginLibrary, RefusesAPluginBuiltForANewerMinorNamingBothVersions) {
  std::string error = openError(kTestPlugins / "waflow-plugin-probe-newer-minor.so");
  EXPECT_THAT(error, HasSubstr("built for plugin ABI " + kNewerAbi));
  EXPECT_THAT(error, HasSubstr("this waflow's ABI " + kHostAbi));
  EXPECT_THAT(error, HasSubstr("upgrade waflow"));
}

TEST(PluginLibrary, RefusesAPluginWithAnotherMajorNamingBothVersions) {
  std::string error = openError(kTestPlugins / "waflow-plugin-probe-other-major.so");
  EXPECT_THAT(error, HasSubstr("built for plugin ABI " + kOtherMajorAbi));
  EXPECT_THAT(error, HasSubstr("speaks ABI " + kHostAbi));
  EXPECT_THAT(error, HasSubstr("major versions differ"));
}

TEST(PluginLibrary, AcceptsAPluginBuiltForAnOlderMinor) {
  // Built against ABI 1.0, loaded by this 1.1 daemon.
  std::string error;
  auto lib = PluginLibrary::open(kTestPlugins / "waflow-plugin-probe-older-minor.so", {}, &error);
  ASSERT_NE(lib, nullptr) << error;
  EXPECT_EQ(lib->abiVersion(), "1.0");
  // And a host one minor ahead loads today's plugins, and the "newer" one too.
  AbiVersion ahead{WAFLOW_ABI_MAJOR, WAFLOW_ABI_MINOR + 1};
  lib = PluginLibrary::open(kTestPlugins / "waflow-plugin-probe.so", ahead, &error);
  ASSERT_NE(lib, nullptr) << error;
  EXPECT_EQ(lib->abiVersion(), kHostAbi);
  lib = PluginLibrary::open(kTestPlugins / "waflow-plugin-probe-newer-minor.so", ahead, &error);
  ASSERT_NE(lib, nullptr) << error;
  EXPECT_EQ(lib->abiVersion(), kNewerAbi);
}

TEST(PluginCatalog, ScansDirectoriesAndKeepsFailuresWithTheirFiles) {
  TempDir dir;
  std::ofstream(dir.path() / "waflow-plugin-junk.so") << "junk";
  std::ofstream(dir.path() / "README.txt") << "ignored: not named like a plugin";
  PluginCatalog catalog;
  catalog.scan({dir.path(), kTestPlugins, kPlugins, "/nonexistent/dir"});
  EXPECT_NE(catalog.find("probe"), nullptr);
  EXPECT_NE(catalog.find("channel-sandbox"), nullptr);
  EXPECT_NE(catalog.find("ai-mock"), nullptr);
  EXPECT_EQ(catalog.find("probe-newer-minor"), nullptr);
  std::map<std::string, std::string> failures;
  for (const auto& f : catalog.failures()) {
    failures[f.file.filename().string()] = f.reason;
  }
  EXPECT_THAT(failures["waflow-plugin-junk.so"], HasSubstr("not a shared library"));
  EXPECT_THAT(failures["waflow-plugin-no-entry.so"], HasSubstr("entry symbol"));
  EXPECT_THAT(failures["waflow-plugin-probe-newer-minor.so"], HasSubstr("ABI " + kNewerAbi));
  EXPECT_THAT(failures["waflow-plugin-probe-other-major.so"], HasSubstr("ABI " + kOtherMajorAbi));
  EXPECT_EQ(failures.count("README.txt"), 0u);
}

TEST(PluginCatalog, TheFirstDirectoryWinsAndLaterCopiesAreReportedAsShadowed) {
  TempDir dir;
  std::filesystem::copy_file(kTestPlugins / "waflow-plugin-probe.so",
                             dir.path() / "waflow-plugin-probe.so");
  PluginCatalog catalog;
  catalog.scan({dir.path(), kTestPlugins});
  ASSERT_NE(catalog.find("probe"), nullptr);
  EXPECT_EQ(catalog.find("probe")->path().parent_path(), std::filesystem::canonical(dir.path()));
  bool shadowed = false;
  for (const auto& f : catalog.failures()) {
    shadowed = shadowed || f.reason.find("shadowed by") != std::string::npos;
  }
  EXPECT_TRUE(shadowed);
}

}  // namespace
}  // namespace waflow::core::plugin
