// The ABI's HTTP request as the host reads it: fields of a later minor version are read only when
// the plugin's struct_size covers them.
#include "plugin/http_bridge.h"

#include <waflow/sdk/types.hpp>

#include <gtest/gtest.h>

#include <cstddef>

namespace waflow::core::plugin {
namespace {

TEST(HttpBridge, ResponseFileAndCapAreReadFromAPluginBuiltForAbi12) {
  waflow_http_request r{};
  r.struct_size = sizeof(r);
  r.method = waflow::abiStr("GET");
  r.url = waflow::abiStr("https://lookaside.fbsbx.com/x");
  r.response_file = waflow::abiStr("/var/lib/waflow/media/.partial-1");
  r.max_response_bytes = 5000;
  ClientRequest req = clientRequestFrom(r);
  EXPECT_EQ(req.response_file, "/var/lib/waflow/media/.partial-1");
  EXPECT_EQ(req.max_response_bytes, 5000u);
}

TEST(HttpBridge, NothingBeyondAnOlderPluginsStructSizeIsRead) {
  waflow_http_request r{};
  r.method = waflow::abiStr("GET");
  r.url = waflow::abiStr("https://example.com/");
  // What lies past a 1.1 plugin's struct is not the plugin's: it must not be used.
  r.response_file = waflow::abiStr("/tmp/not-from-the-plugin");
  r.max_response_bytes = 1;
  r.struct_size = offsetof(waflow_http_request, response_file);  // as a 1.1 plugin wrote it
  ClientRequest req = clientRequestFrom(r);
  EXPECT_EQ(req.url, "https://example.com/");
  EXPECT_EQ(req.response_file, "");
  EXPECT_EQ(req.max_response_bytes, 0u);
}

}  // namespace
}  // namespace waflow::core::plugin
