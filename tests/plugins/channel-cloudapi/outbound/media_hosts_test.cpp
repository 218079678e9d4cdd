// The media_hosts rule: which download URLs may receive the access token.
#include "media_hosts.h"

#include <gtest/gtest.h>

namespace waflow::cloudapi {
namespace {

const std::vector<std::string> kMeta = {"lookaside.fbsbx.com", "*.fbcdn.net"};

TEST(MediaHosts, MetasHostsOverHttpsAreAllowed) {
  EXPECT_EQ(
      refuseMediaUrl("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1", kMeta),
      "");
  EXPECT_EQ(refuseMediaUrl("HTTPS://LookAside.FBSBX.com:443/x", kMeta), "");
  EXPECT_EQ(refuseMediaUrl("https://scontent.xx.fbcdn.net/v/t1", kMeta), "");
}

TEST(MediaHosts, OtherHostsNeverReceiveTheToken) {
  for (const char* url :
       {"https://evil.example/steal", "https://fbcdn.net/bare-domain",
        "https://lookaside.fbsbx.com.evil.example/x", "https://evil-lookaside.fbsbx.com/x"}) {
    std::string why = refuseMediaUrl(url, kMeta);
    EXPECT_NE(why.find("not in media_hosts"), std::string::npos) << url << ": " << why;
  }
}

TEST(MediaHosts, TrickyUrlsAreRefusedRatherThanInterpreted) {
  for (const char* url :
       {"https://lookaside.fbsbx.com@evil.example/", "https://evil.example\\@lookaside.fbsbx.com/",
        "https://lookaside.fbsbx.com%2eevil.example/", "ftp://lookaside.fbsbx.com/x",
        "file:///etc/passwd", "https://lookaside.fbsbx.com./x", "https:///x", ""}) {
    EXPECT_NE(refuseMediaUrl(url, kMeta), "") << url;
  }
}

TEST(MediaHosts, PlainHttpOnlyToLoopback) {
  std::vector<std::string> hosts = {"127.0.0.1", "localhost", "media.example"};
  EXPECT_EQ(refuseMediaUrl("http://127.0.0.1:8080/m?mid=1", hosts), "");
  EXPECT_EQ(refuseMediaUrl("http://localhost:9/m", hosts), "");
  std::string why = refuseMediaUrl("http://media.example/m", hosts);
  EXPECT_NE(why.find("plain http"), std::string::npos) << why;
  EXPECT_NE(refuseMediaUrl("http://127.0.0.1:8080/m", kMeta), "");  // loopback, but not listed
}

TEST(MediaHosts, PatternsAreChecked) {
  EXPECT_EQ(checkMediaHostPattern("lookaside.fbsbx.com"), "");
  EXPECT_EQ(checkMediaHostPattern("*.fbcdn.net"), "");
  EXPECT_EQ(checkMediaHostPattern("127.0.0.1"), "");
  EXPECT_NE(checkMediaHostPattern("https://lookaside.fbsbx.com"), "");
  EXPECT_NE(checkMediaHostPattern("*"), "");
  EXPECT_NE(checkMediaHostPattern("evil.*"), "");
  EXPECT_NE(checkMediaHostPattern(""), "");
}

}  // namespace
}  // namespace waflow::cloudapi
