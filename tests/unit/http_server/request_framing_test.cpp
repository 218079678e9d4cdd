// How the server frames hostile requests, over real sockets on 127.0.0.1: trailers and chunk
// extensions within the header limit, fields Beast cannot store, and Transfer-Encoding /
// Content-Length combinations that a front proxy could read differently (request smuggling).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "http_server/http_server.h"
#include "test_client.h"

namespace waflow::core::httpd {
namespace {

using namespace std::chrono_literals;
using test::TestClient;

// A server with two routes on its own I/O threads: GET /healthz, and POST /echo, which answers
// the body and, on a second line, the value of the header X-Sig ("-" when absent).
class RunningServer {
 public:
  explicit RunningServer(ServerOptions opts) {
    router_.add("GET", "/healthz",
                [](HttpRequest&&, Respond respond) { respond(HttpResponse::text(200, "ok\n")); });
    router_.add("POST", "/echo", [](HttpRequest&& req, Respond respond) {
      respond(HttpResponse::text(200,
                                 req.body + "\n" + std::string(req.header("X-Sig").value_or("-"))));
    });
    opts.port = 0;
    server_ = std::make_unique<HttpServer>(ioc_, opts, router_);
    server_->start();
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
  }
  ~RunningServer() {
    std::promise<void> done;
    server_->shutdown(2s, [&] { done.set_value(); });
    done.get_future().wait_for(10s);
    work_.reset();
    for (auto& t : threads_) {
      t.join();
    }
  }
  uint16_t port() const { return server_->port(); }

 private:
  Router router_;
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(ioc_);
  std::unique_ptr<HttpServer> server_;
  std::vector<std::thread> threads_;
};

ServerOptions limits(std::size_t header_limit, std::size_t body_limit = 1024 * 1024) {
  ServerOptions opts;
  opts.header_limit = header_limit;
  opts.body_limit = body_limit;
  opts.read_timeout = 30s;  // a request the server waits on shows as a client timeout, not 408
  return opts;
}

// Sends `raw` on a fresh connection; the status of the answer (0 if none came within 5 s) and,
// when `wait_for_close`, whether the server then closed the connection.
struct Outcome {
  int status = 0;
  bool closed = false;
  std::string body;
};
Outcome exchange(uint16_t port, const std::string& raw, bool wait_for_close = true) {
  TestClient c;
  Outcome out;
  if (!c.connect(port) || !c.send(raw)) {
    return out;
  }
  auto r = c.read();
  if (r) {
    out.status = r->result_int();
    out.body = r->body();
    out.closed = wait_for_close && c.waitClosed(3s);
  }
  return out;
}

std::string chunkedHead(std::string_view target, std::string_view transfer_encoding = "chunked") {
  return std::string(target == "/echo" ? "POST " : "GET ") + std::string(target) +
         " HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: " + std::string(transfer_encoding) +
         "\r\n\r\n";
}

// Runs `attack` against a fresh server in a child process (gtest death-test machinery, so the
// threads are safe), then checks /healthz still answers. Before the fix the child died in
// std::terminate; the child exits 0 only when the attack got `expected_status` and the server
// lived on.
void expectServerSurvives(ServerOptions opts, const std::string& attack, int expected_status) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        RunningServer server(opts);
        Outcome attacked = exchange(server.port(), attack);
        Outcome health = exchange(server.port(), test::rawRequest("GET", "/healthz"), false);
        std::fprintf(stderr, "attack answered %d, closed %d; /healthz answered %d\n",
                     attacked.status, attacked.closed, health.status);
        std::_Exit(
            attacked.status == expected_status && attacked.closed && health.status == 200 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(RequestFramingTest, TrailerFieldOver64KiBGets431AndTheServerLives) {
  std::string attack =
      chunkedHead("/healthz") + "0\r\nX-Big: " + std::string(70'000, 'a') + "\r\n\r\n";
  expectServerSurvives(limits(16 * 1024), attack, 431);
}

TEST(RequestFramingTest, HeaderFieldOver64KiBUnderALargeHeaderLimitGets431AndTheServerLives) {
  std::string attack =
      "GET /healthz HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(70'000, 'a') + "\r\n\r\n";
  expectServerSurvives(limits(256 * 1024), attack, 431);
}

// Header, chunk extensions and trailer share the header limit. The unending trailer is just over
// it and never ends: the answer must come from these bytes alone, without the server waiting for
// (and buffering) more.
TEST(RequestFramingTest, FramingBeyondTheHeaderLimitGets431AndCloses) {
  RunningServer server(limits(4096));
  std::string unending = chunkedHead("/echo") + "5\r\nhello\r\n0\r\n";
  while (unending.size() < 4096 + 1024) {
    unending += "X-Filler: " + std::string(90, 'v') + "\r\n";
  }
  std::string small_fields = chunkedHead("/echo") + "5\r\nhello\r\n0\r\n";
  for (int i = 0; i < 600; ++i) {  // about 9 KiB of small fields, properly ended
    small_fields += "X-F" + std::to_string(i) + ": v\r\n";
  }
  small_fields += "\r\n";
  std::string extensions = chunkedHead("/echo");
  for (int i = 0; i < 5; ++i) {  // 5 x 1000 bytes of extensions, each chunk line well-formed
    extensions += "1;ext=" + std::string(1000, 'e') + "\r\na\r\n";
  }
  extensions += "0\r\n\r\n";
  for (const std::string* raw : {&unending, &small_fields, &extensions}) {
    Outcome o = exchange(server.port(), *raw);
    EXPECT_EQ(o.status, 431) << raw->substr(0, 120) << "\n" << o.body;
    EXPECT_NE(o.body.find("4096-byte limit (server.header_limit)"), std::string::npos) << o.body;
    EXPECT_TRUE(o.closed);
  }
}

TEST(RequestFramingTest, ChunkedBodyWithExtensionsAndTrailerIsServedWithoutTheTrailer) {
  RunningServer server(limits(4096));
  TestClient c;
  ASSERT_TRUE(c.connect(server.port()));
  std::string raw =
      chunkedHead("/echo") + "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Sig: forged\r\n\r\n";
  // Twice on one connection: the connection stays usable after a trailer.
  for (int i = 0; i < 2; ++i) {
    auto r = c.roundTrip(raw);
    ASSERT_TRUE(r) << c.lastError().message();
    EXPECT_EQ(r->result_int(), 200);
    // A field sent after the body never poses as a header the handler checks.
    EXPECT_EQ(r->body(), "hello world\n-");
    EXPECT_TRUE(r->keep_alive());
  }
}

TEST(RequestFramingTest, TransferEncodingNotEndingInChunkedGets400AndCloses) {
  RunningServer server(limits(4096));
  for (const char* te :
       {"gzip", "xchunked", "chunked, identity", "chunked;x=1", "", "chunked, chunked"}) {
    Outcome o = exchange(server.port(), chunkedHead("/echo", te) + "5\r\nhello\r\n0\r\n\r\n");
    EXPECT_EQ(o.status, 400) << "Transfer-Encoding: " << te << "\n" << o.body;
    EXPECT_TRUE(o.closed) << te;
  }
  Outcome split = exchange(server.port(),
                           "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
                           "gzip\r\nTransfer-Encoding: chunked, identity\r\n\r\n");
  EXPECT_EQ(split.status, 400) << split.body;
  Outcome old = exchange(server.port(),
                         "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(old.status, 400) << old.body;
  EXPECT_TRUE(old.closed);
}

TEST(RequestFramingTest, CodingsOtherThanChunkedGet501AndClose) {
  RunningServer server(limits(4096));
  for (const char* te : {"gzip, chunked", "deflate,chunked"}) {
    Outcome o = exchange(server.port(), chunkedHead("/echo", te) + "5\r\nhello\r\n0\r\n\r\n");
    EXPECT_EQ(o.status, 501) << te << "\n" << o.body;
    EXPECT_NE(o.body.find("only chunked"), std::string::npos) << o.body;
    EXPECT_TRUE(o.closed) << te;
  }
  // The same coding list split over two fields is read as one list (RFC 9110 §5.3).
  Outcome split = exchange(server.port(),
                           "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
                           "gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(split.status, 501) << split.body;
}

TEST(RequestFramingTest, ContentLengthWithTransferEncodingOrDifferingLengthsGets400AndCloses) {
  RunningServer server(limits(4096));
  const std::string head = "POST /echo HTTP/1.1\r\nHost: h\r\n";
  for (const std::string& fields :
       {std::string("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
        std::string("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
        std::string("Transfer-Encoding: gzip\r\nContent-Length: 5\r\n"),
        std::string("Content-Length: 5\r\nContent-Length: 6\r\n"),
        std::string("Content-Length: 5, 6\r\n")}) {
    Outcome o = exchange(server.port(), head + fields + "\r\nhello!");
    EXPECT_EQ(o.status, 400) << fields << o.body;
    EXPECT_TRUE(o.closed) << fields;
  }
}

}  // namespace
}  // namespace waflow::core::httpd
