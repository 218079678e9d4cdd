// libFuzzer target: the HTTP request reader (request line, headers, Content-Length and chunked
// bodies, chunk extensions, trailers, pipelining), fed in arbitrary reads with small limits.
// The input format is described in request_feed.h; seeds are in corpus/http_request/.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "http_server/request_feed.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  waflow::test::FeedResult result = waflow::test::feedRequests(data, size);
  if (!result.violation.empty()) {
    std::fprintf(stderr, "request reader broke a promise: %s\n", result.violation.c_str());
    std::abort();
  }
  return 0;
}
