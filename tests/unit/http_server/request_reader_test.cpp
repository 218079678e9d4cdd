// RequestReader without sockets: what it keeps in memory while a client streams hostile framing,
// pipelining fed in the smallest reads, and the fuzzer's findings replayed
// (tests/fuzz/http_server/regressions/, in the delivery format of request_feed.h).
#include "http_server/request_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "http_server/request_feed.h"
#include "regressions.h"

namespace waflow::core::httpd {
namespace {

constexpr std::size_t kHeaderLimit = 4096;
constexpr std::size_t kBodyLimit = 64 * 1024;

// Offers `stream` (repeated without end) to the reader in reads as large as it accepts, until it
// answers something other than kNeedMore or `give_up` bytes were taken; returns the bytes taken.
// Checks after every read that the buffer stays within the limit plus one read.
std::size_t feedUntilAnswer(RequestReader& reader, const std::string& head,
                            const std::string& stream, std::size_t give_up,
                            RequestReader::Progress* progress) {
  std::string pending = head;
  std::size_t taken = 0;
  std::size_t at = 0;
  reader.begin();
  for (;;) {
    auto space = reader.prepare();
    if (space.size() == 0) {
      ADD_FAILURE() << "no room offered while the reader needs more";
      return taken;
    }
    auto* out = static_cast<char*>(space.data());
    for (std::size_t i = 0; i < space.size(); ++i) {
      out[i] = at < pending.size() ? pending[at] : stream[(at - pending.size()) % stream.size()];
      ++at;
    }
    reader.commit(space.size());
    taken += space.size();
    *progress = reader.parse();
    EXPECT_LE(reader.buffered(), kHeaderLimit + RequestReader::kReadChunk);
    if (*progress != RequestReader::Progress::kNeedMore || taken >= give_up) {
      return taken;
    }
  }
}

const std::string kChunkedHead =
    "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";

// 200 MB of small trailer fields took the server to 476 MB before; now every part of the
// framing that could go on forever is refused with 431 once the header limit and one read were
// taken.
TEST(RequestReaderTest, EndlessFramingIsRefusedWithinTheHeaderLimitPlusOneRead) {
  struct Case {
    const char* what;
    std::string head;
    std::string repeated;
  };
  const Case cases[] = {
      {"trailer", kChunkedHead + "5\r\nhello\r\n0\r\n", "X-Filler: vvvvvvvv\r\n"},
      {"chunk extension", kChunkedHead + "5;e=", "eeeeeeee"},
      {"header", "GET / HTTP/1.1\r\n", "X-A: b\r\n"},
  };
  for (const Case& c : cases) {
    RequestReader reader(kHeaderLimit, kBodyLimit);
    RequestReader::Progress progress{};
    std::size_t taken = feedUntilAnswer(reader, c.head, c.repeated, 200u << 20, &progress);
    ASSERT_EQ(progress, RequestReader::Progress::kFailed) << c.what;
    EXPECT_EQ(reader.failure().status, 431) << c.what;
    EXPECT_LE(taken, kHeaderLimit + RequestReader::kReadChunk) << c.what;
  }
}

TEST(RequestReaderTest, LongChunkedBodyStreamsThroughWithoutGrowingTheBuffer) {
  RequestReader reader(kHeaderLimit, 8u << 20);
  RequestReader::Progress progress{};
  // 4 MiB of small chunks: framing per chunk is small and consumed as it comes.
  std::size_t taken =
      feedUntilAnswer(reader, kChunkedHead, "10\r\n0123456789abcdef\r\n", 4u << 20, &progress);
  EXPECT_EQ(progress, RequestReader::Progress::kNeedMore);
  EXPECT_GE(taken, 4u << 20);
}

TEST(RequestReaderTest, PipelinedRequestsFedOneByteAtATime) {
  const std::string two = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n" + kChunkedHead +
                          "3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\n" +
                          "POST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi";
  RequestReader reader(kHeaderLimit, kBodyLimit);
  std::vector<std::string> seen;
  reader.begin();
  for (char c : two) {
    auto space = reader.prepare();
    ASSERT_GT(space.size(), 0u);
    std::memcpy(space.data(), &c, 1);
    reader.commit(1);
    auto progress = reader.parse();
    ASSERT_NE(progress, RequestReader::Progress::kFailed) << reader.failure().message;
    if (progress == RequestReader::Progress::kDone) {
      seen.push_back(std::string(reader.message().target()) + " " + reader.message().body());
      // The trailer is read and dropped: it never joins the header.
      EXPECT_EQ(reader.message().count("X-T"), 0u);
      reader.end();
      reader.begin();
    }
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"/a ", "/echo abc", "/c hi"}));
}

TEST(RequestReaderTest, RefusalsSayWhatToChange) {
  RequestReader reader(kHeaderLimit, 10);
  auto feedAll = [&](const std::string& raw) {
    reader.discardBuffered();
    reader.begin();
    auto space = reader.prepare();
    std::memcpy(space.data(), raw.data(), raw.size());
    reader.commit(raw.size());
    return reader.parse();
  };
  ASSERT_EQ(feedAll("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n"),
            RequestReader::Progress::kFailed);
  EXPECT_EQ(reader.failure().status, 413);
  EXPECT_EQ(reader.failure().message,
            "request body exceeds the 10-byte limit (server.body_limit)\n");
  ASSERT_EQ(feedAll("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
            RequestReader::Progress::kFailed);
  EXPECT_EQ(reader.failure().status, 400);
  EXPECT_EQ(reader.failure().message,
            "ambiguous request framing refused: Transfer-Encoding: gzip (the final coding must be "
            "chunked)\n");
}

// Each file under tests/fuzz/http_server/regressions/ is an input the fuzzer once crashed on
// (or one that crashed the server before a fix); replayed through the fuzzer's own feeding code.
TEST(RequestReaderTest, FuzzerFindingsStayFixed) {
  const auto findings = test::fuzzRegressions(WAFLOW_SOURCE_DIR, "http_server");
  for (const test::FuzzRegression& finding : findings) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(finding.bytes.data());
    test::FeedResult result = test::feedRequests(bytes, finding.bytes.size());
    EXPECT_EQ(result.violation, "") << finding.path;
  }
  EXPECT_GT(findings.size(), 0u);
}

}  // namespace
}  // namespace waflow::core::httpd
