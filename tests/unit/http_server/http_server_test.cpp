// End-to-end tests of HttpServer over real sockets on 127.0.0.1 (port 0).
#include "http_server/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "test_client.h"

namespace waflow::core::httpd {
namespace {

using namespace std::chrono_literals;
using test::rawRequest;
using test::Response;
using test::TestClient;

struct RequestRecord {
  std::string method;
  std::string label;
  int status;
};

class RecordingObserver : public ServerObserver {
 public:
  void onRequest(std::string_view method, std::string_view route_label, int status,
                 std::chrono::nanoseconds) override {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back({std::string(method), std::string(route_label), status});
  }
  void onConnectionOpened() override { ++opened_; }
  void onConnectionClosed() override { ++closed_; }
  void onHandlerError(std::string_view label, std::string_view what) override {
    std::lock_guard<std::mutex> lock(mu_);
    errors_.push_back(std::string(label) + ": " + std::string(what));
  }

  std::vector<RequestRecord> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::vector<std::string> errors() {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_;
  }
  std::atomic<int> opened_{0};
  std::atomic<int> closed_{0};

 private:
  std::mutex mu_;
  std::vector<RequestRecord> requests_;
  std::vector<std::string> errors_;
};

// Hands a Respond from a handler to the test thread.
class HeldResponds {
 public:
  void put(Respond r) {
    std::lock_guard<std::mutex> lock(mu_);
    held_.push_back(std::move(r));
    cv_.notify_all();
  }
  // Waits until at least `n` are held.
  bool waitFor(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return held_.size() >= n; });
  }
  Respond take() {
    std::lock_guard<std::mutex> lock(mu_);
    Respond r = std::move(held_.front());
    held_.erase(held_.begin());
    return r;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Respond> held_;
};

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() {
    router_.add("GET", "/healthz",
                [](HttpRequest&&, Respond respond) { respond(HttpResponse::text(200, "ok\n")); });
    // Echoes what the server parsed, one field per line.
    auto echo = [this](HttpRequest&& req, Respond respond) {
      ++echo_calls_;
      std::string out = "method=" + req.method + "\npath=" + req.path + "\nquery=" + req.query +
                        "\ntarget=" + req.target + "\nremote=" + req.remote_address +
                        "\nrequest_id=" + req.request_id + "\nbody=" + req.body;
      auto mode = req.queryParam("hub.mode");
      out += "\nhub.mode=" + mode.value_or("<none>");
      auto ua = req.header("user-agent");
      out += "\nua=" + std::string(ua.value_or("<none>"));
      respond(HttpResponse::text(200, std::move(out)));
    };
    router_.addPrefix("GET", "/webhooks/", echo, "/webhooks/{channel}");
    router_.addPrefix("POST", "/webhooks/", echo, "/webhooks/{channel}");
    router_.add("POST", "/echo", [](HttpRequest&& req, Respond respond) {
      respond(HttpResponse::text(200, req.body));
    });
    router_.add("GET", "/later", [this](HttpRequest&&, Respond respond) {
      workers_.emplace_back([respond = std::move(respond)] {
        std::this_thread::sleep_for(100ms);
        respond(HttpResponse::json(202, "{\"late\":true}"));
      });
    });
    router_.add("GET", "/hold",
                [this](HttpRequest&&, Respond respond) { held_.put(std::move(respond)); });
    router_.add("GET", "/throw",
                [](HttpRequest&&, Respond) -> void { throw std::runtime_error("boom"); });
    router_.add("GET", "/drop", [](HttpRequest&&, Respond) {});
    router_.add("GET", "/drop-async", [this](HttpRequest&&, Respond respond) {
      workers_.emplace_back([respond = std::move(respond)]() mutable {
        std::this_thread::sleep_for(20ms);
        Respond dropped = std::move(respond);  // destroyed on this thread, never called
      });
    });
    router_.add("GET", "/twice", [](HttpRequest&&, Respond respond) {
      respond(HttpResponse::text(200, "first"));
      respond(HttpResponse::text(500, "second"));
    });
    router_.add("GET", "/headers", [](HttpRequest&&, Respond respond) {
      HttpResponse r = HttpResponse::text(200, "h");
      r.headers.emplace_back("X-Custom", "yes");
      r.headers.emplace_back("X-Evil", "a\r\nInjected: 1");
      r.headers.emplace_back("Connection", "close");
      respond(std::move(r));
    });
  }

  ~HttpServerTest() override { stopServer(); }

  void startServer(ServerOptions opts = {}) {
    opts.port = 0;
    server_ = std::make_unique<HttpServer>(ioc_, opts, router_, &observer_);
    server_->start();
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
  }

  void stopServer() {
    for (auto& t : workers_) {
      t.join();
    }
    workers_.clear();
    if (server_) {
      std::promise<void> done;
      server_->shutdown(2s, [&] { done.set_value(); });
      EXPECT_EQ(done.get_future().wait_for(10s), std::future_status::ready);
    }
    work_.reset();
    for (auto& t : threads_) {
      t.join();
    }
    threads_.clear();
    server_.reset();
  }

  uint16_t port() const { return server_->port(); }

  Router router_;
  RecordingObserver observer_;
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(ioc_);
  std::unique_ptr<HttpServer> server_;
  std::vector<std::thread> threads_;
  std::vector<std::thread> workers_;  // touched from handlers on the server's strands
  std::atomic<int> echo_calls_{0};
  HeldResponds held_;
};

TEST_F(HttpServerTest, RoutesAnswer200And404And405WithAllow) {
  startServer();
  TestClient c;
  ASSERT_TRUE(c.connect(port()));

  auto ok = c.roundTrip(rawRequest("GET", "/healthz"));
  ASSERT_TRUE(ok) << c.lastError().message();
  EXPECT_EQ(ok->result_int(), 200);
  EXPECT_EQ(ok->body(), "ok\n");
  EXPECT_EQ((*ok)[boost::beast::http::field::content_type], "text/plain; charset=utf-8");

  auto missing = c.roundTrip(rawRequest("GET", "/nope"));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->result_int(), 404);

  auto wrong = c.roundTrip(rawRequest("DELETE", "/webhooks/sandbox"));
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->result_int(), 405);
  EXPECT_EQ((*wrong)["Allow"], "GET, POST");

  // onRequest runs when the write completes, which may be just after the client has read it.
  ASSERT_TRUE(eventually([&] { return observer_.requests().size() == 3; }));
  auto records = observer_.requests();
  EXPECT_EQ(records[0].label, "/healthz");
  EXPECT_EQ(records[0].method, "GET");
  EXPECT_EQ(records[1].label, Router::kUnmatchedLabel);
  EXPECT_EQ(records[1].status, 404);
  EXPECT_EQ(records[2].label, "/webhooks/{channel}");
  EXPECT_EQ(records[2].method, "DELETE");
  EXPECT_EQ(records[2].status, 405);
}

TEST_F(HttpServerTest, RequestFieldsReachTheHandler) {
  startServer();
  TestClient c;
  ASSERT_TRUE(c.connect(port()));
  auto r = c.roundTrip(rawRequest("POST", "/webhooks/my%20chan?hub.mode=sub%2Bscribe&x=1",
                                  {{"User-Agent", "tester"}}, "{\"a\":1}\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  const std::string& b = r->body();
  EXPECT_NE(b.find("method=POST\n"), std::string::npos) << b;
  EXPECT_NE(b.find("path=/webhooks/my chan\n"), std::string::npos) << b;
  EXPECT_NE(b.find("query=hub.mode=sub%2Bscribe&x=1\n"), std::string::npos) << b;
  EXPECT_NE(b.find("target=/webhooks/my%20chan?hub.mode=sub%2Bscribe&x=1\n"), std::string::npos)
      << b;
  EXPECT_NE(b.find("remote=127.0.0.1\n"), std::string::npos) << b;
  EXPECT_NE(b.find("body={\"a\":1}\r\n"), std::string::npos) << b;  // raw bytes, untouched
  EXPECT_NE(b.find("hub.mode=sub+scribe\n"), std::string::npos) << b;
  EXPECT_NE(b.find("ua=tester"), std::string::npos) << b;
}

// The router and a front proxy must agree on the path: one decoding, and nothing a second
// decoding or a normalising proxy would change (docs/architecture.md, "HTTP requests").
TEST_F(HttpServerTest, TargetsThatCouldRouteDifferentlyBehindAProxyGet400) {
  startServer();
  TestClient c;
  ASSERT_TRUE(c.connect(port()));
  for (const char* target :
       {"/webhooks/a%2Fb", "/webhooks/a%2fb", "/webhooks/..%2Fmetrics", "/webhooks/a%5Cb",
        "/webhooks/a%00", "/webhooks/a%0Ab", "/webhooks/a%252Fb", "/webhooks/./x",
        "/webhooks/../metrics", "/webhooks/x/..", "/webhooks/%2e%2e/metrics", "/webhooks/.%2E/x",
        "/webhooks/%2E/x", "http://h/webhooks/../metrics"}) {
    auto r = c.roundTrip(rawRequest("GET", target));
    ASSERT_TRUE(r) << target << ": " << c.lastError().message();
    EXPECT_EQ(r->result_int(), 400) << target << "\n" << r->body();
    EXPECT_NE(r->body().find("request target refused"), std::string::npos) << r->body();
  }
  EXPECT_EQ(echo_calls_.load(), 0);
  // Dots inside a segment and other encodings are ordinary: decoded once, then routed.
  auto ok = c.roundTrip(rawRequest("GET", "/webhooks/my%20chan.v2..x%2E"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->result_int(), 200);
  EXPECT_NE(ok->body().find("path=/webhooks/my chan.v2..x.\n"), std::string::npos) << ok->body();
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  startServer();
  TestClient c;
  ASSERT_TRUE(c.connect(port()));
  for (int i = 0; i < 5; ++i) {
    auto r = c.roundTrip(rawRequest("POST", "/echo", {}, "n" + std::to_string(i)));
    ASSERT_TRUE(r) << "request " << i << ": " << c.lastError().message();
    EXPECT_EQ(r->body(), "n" + std::to_string(i));
    EXPECT_TRUE(r->keep_alive());
    EXPECT_EQ(server_->activeConnections(), 1u);
  }
  EXPECT_EQ(observer_.opened_.load(), 1);
}

TEST_F(HttpServerTest, Http10ClosesUnlessKeepAliveRequested) {
  startServer();
  {
    TestClient c;
    ASSERT_TRUE(c.connect(port()));
    auto r = c.roundTrip(rawRequest("GET", "/healthz", {}, {}, "HTTP/1.0"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->version(), 10u);
    EXPECT_FALSE(r->keep_alive());
    EXPECT_TRUE(c.waitClosed());
  }
  TestClient c;
  ASSERT_TRUE(c.connect(port()));
  for (int i = 0; i < 2; ++i) {
    auto r =
        c.roundTrip(rawRequest("GET", "/healthz", {{"Connection", "keep-alive"}}, {}, "HTTP/1.0"));
    ASSERT_TRUE(r) << i;
    EXPECT_TRUE(r->keep_alive());
  }
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  startServer();
  TestClient c;
  ASSERT_TRUE(c.connect(port()));
  // The first answer comes late from another thread; the later ones are immediate, yet must
  // not overtake it.
  std::string batch = rawRequest("GET", "/later") + rawRequest("POST", "/echo", {}, "second") +
                      rawRequest("POST", "/echo", {}, "third") + rawRequest("GET", "/healthz");
  ASSERT_TRUE(c.send(batch));
  auto r1 = c.read();
  auto r2 = c.read();
  auto r3 = c.read();
  auto r4 = c.read();
  ASSERT_TRUE(r1 && r2 && r3 && r4);
  EXPECT_EQ(r1->result_int(), 202);
  EXPECT_EQ(r1->body(), "{\"late\":true}");
  EXPECT_EQ((*r1)[boost::beast::http::field::content_type], "application/json");
  EXPECT_EQ(r2->body(), "second");
  EXPECT_EQ(r3->body(), "third");
  EXPECT_EQ(r4->body(), "ok\n");
}

TEST_F(HttpServerTest, OversizeBodyGets413AndNeverReachesTheHandler) {
  ServerOptions opts;
  opts.body_limit = 1000;
  startServer(opts);
  TestClient c;
  ASSERT_TRUE(c.connect(port()));
  std::string head = "POST /webhooks/x HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n";
  ASSERT_TRUE(c.send(head + std::string(1500, 'a')));
  auto r = c.read();
  ASSERT_TRUE(r) << c.lastError().message();
  EXPECT_EQ(r->result_int(), 413);
  EXPECT_NE(r->body().find("1000-byte limit"), std::string::npos) << r->body();
  EXPECT_FALSE(r->keep_alive());
  EXPECT_FALSE((*r)["X-Request-Id"].empty());
  EXPECT_TRUE(c.waitClosed());
  EXPECT_EQ(echo_calls_.load(), 0);

  // Chunked bodies are limited too, while they stream in.
  TestClient chunked;
  ASSERT_TRUE(chunked.connect(port()));
  std::string req = "POST /webhooks/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) {
    req += "200\r\n" + std::string(0x200, 'b') + "\r\n";
  }
  ASSERT_TRUE(chunked.send(req));
  auto r2 = chunked.read();
  ASSERT_TRUE(r2) << chunked.lastError().message();
  EXPECT_EQ(r2->result_int(), 413);
  EXPECT_EQ(echo_calls_.load(), 0);

  // A body exactly at the limit is fine.
  TestClient fits;
  ASSERT_TRUE(fits.connect(port()));
  auto r3 = fits.roundTrip(rawRequest("POST", "/echo", {}, std::string(1000, 'c')));
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->result_int(), 200);
  EXPECT_EQ(r3->body().size(), 1000u);
}

TEST_F(HttpServerTest, HugeHeadersGet431AndGarbageGets400) {
  ServerOptions opts;
  opts.header_limit = 4096;
  startServer(opts);
  {
    TestClient c;
    ASSERT_TRUE(c.connect(port()));
    auto r = c.roundTrip(rawRequest("GET", "/healthz", {{"X-Big", std::string(8000, 'x')}}));
    ASSERT_TRUE(r) << c.lastError().message();
    EXPECT_EQ(r->result_int(), 431);
    EXPECT_NE(r->body().find("4096-byte limit"), std::string::npos);
    EXPECT_TRUE(c.waitClosed());
  }
  {
    TestClient c;
    ASSERT_TRUE(c.connect(port()));
    auto r = c.roundTrip("THIS IS NOT HTTP\r\n\r\n");
    ASSERT_TRUE(r) << c.lastError().message();
    EXPECT_EQ(r->result_int(), 400);
    EXPECT_FALSE(r->keep_alive());
    EXPECT_TRUE(c.waitClosed());
  }
  {
    TestClient c;
    ASSERT_TRUE(c.connect(port()));
    auto r = c.roundTrip("GET /healthz HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 400);
  }
  {
    // A target the URL grammar rejects: 400, but the framing was fine so the connection stays.
    TestClient c;
    ASSERT_TRUE(c.connect(port()));
    auto r = c.roundTrip("GET /webhooks/%zz HTTP/1.1\r\nHost: h\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 400);
    auto again = c.roundTrip(rawRequest("GET", "/healthz"));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->result_int(), 200);
  }
  EXPECT_EQ(echo_calls_.load(), 0);
}

TEST_F(HttpServerTest, SlowClientIsCutOffAfterReadTimeout) {
  ServerOptions opts;
  opts.read_timeout = 200ms;
  startServer(opts);
  TestClient c;
  ASSERT_TRUE(c.connect(port()));
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: h\r\n"));  // half the headers, then stall
  auto r = c.read(5s);
  ASSERT_TRUE(r) << c.lastError().message();
  EXPECT_EQ(r->result_int(), 408);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);  // not cut off early
  EXPECT_TRUE(c.waitClosed());
}

TEST_F(HttpServerTest, ReadTimeoutBoundsTheWholeRequestNotEachRead) {
  ServerOptions opts;
  opts.read_timeout = 300ms;
  startServer(opts);
  TestClient c;
  ASSERT_TRUE(c.connect(port()));
  // Dribble one byte every 25 ms for 500 ms: every gap is far below the timeout, but the
  // request as a whole is not complete by then, so the server must answer 408.
  std::string req = rawRequest("GET", "/healthz", {{"X-Pad", std::string(40, 'p')}});
  for (std::size_t i = 0; i < 20; ++i) {
    if (!c.send(std::string_view(&req[i], 1), 1s)) {
      break;
    }
    std::this_thread::sleep_for(25ms);
  }
  std::string received;
  EXPECT_TRUE(c.waitClosed(5s, &received));
  EXPECT_NE(received.find(" 408 "), std::string::npos) << received;
}

TEST_F(HttpServerTest, SilentNewConnectionIsClosedAfterReadTimeout) {
  ServerOptions opts;
  opts.read_timeout = 200ms;  // idle_timeout stays at its 60 s default
  startServer(opts);
  TestClient c;
  ASSERT_TRUE(c.connect(port()));
  std::string received;
  EXPECT_TRUE(c.waitClosed(5s, &received));
  EXPECT_TRUE(received.empty()) << received;
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  ServerOptions opts;
  opts.idle_timeout = 200ms;
  startServer(opts);
  TestClient c;
  ASSERT_TRUE(c.connect(port()));
  auto r = c.roundTrip(rawRequest("GET", "/healthz"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->keep_alive());
  std::string received;
  EXPECT_TRUE(c.waitClosed(5s, &received));
  EXPECT_TRUE(received.empty()) << received;  // idle close sends nothing
  EXPECT_TRUE(eventually([&] { return server_->activeConnections() == 0; }));
  EXPECT_TRUE(eventually([&] { return observer_.closed_.load() == 1; }));
}

TEST_F(HttpServerTest, AsyncRespondFromAnotherThread) {
  startServer();
  TestClient c;
  ASSERT_TRUE(c.connect(port()));
  auto r = c.roundTrip(rawRequest("GET", "/later"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 202);
  EXPECT_EQ(r->body(), "{\"late\":true}");
  auto again = c.roundTrip(rawRequest("GET", "/healthz"));  // connection still usable
  ASSERT_TRUE(again);
  EXPECT_EQ(again->result_int(), 200);
}

TEST_F(HttpServerTest, ThrowingHandlerGets500AndServerKeepsWorking) {
  startServer();
  TestClient c;
  ASSERT_TRUE(c.connect(port()));
  auto r = c.roundTrip(rawRequest("GET", "/throw"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 500);
  EXPECT_EQ(r->body().find("boom"), std::string::npos);  // internals are not leaked
  auto again = c.roundTrip(rawRequest("GET", "/healthz"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->result_int(), 200);
  auto errors = observer_.errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "/throw: boom");
}

TEST_F(HttpServerTest, DroppedRespondGets500) {
  startServer();
  TestClient c;
  ASSERT_TRUE(c.connect(port()));
  auto r = c.roundTrip(rawRequest("GET", "/drop"));
  ASSERT_TRUE(r) << c.lastError().message();
  EXPECT_EQ(r->result_int(), 500);
  auto r2 = c.roundTrip(rawRequest("GET", "/drop-async"));
  ASSERT_TRUE(r2) << c.lastError().message();
  EXPECT_EQ(r2->result_int(), 500);
  auto again = c.roundTrip(rawRequest("GET", "/healthz"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->result_int(), 200);
  EXPECT_EQ(observer_.errors().size(), 2u);
}

TEST_F(HttpServerTest, SecondRespondCallIsIgnored) {
  startServer();
  TestClient c;
  ASSERT_TRUE(c.connect(port()));
  auto r = c.roundTrip(rawRequest("GET", "/twice"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body(), "first");
  auto next = c.roundTrip(rawRequest("GET", "/healthz"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body(), "ok\n");  // no stray "second" response in between
}

TEST_F(HttpServerTest, HandlerHeadersAreSanitisedAndConnectionCloseHonoured) {
  startServer();
  TestClient c;
  ASSERT_TRUE(c.connect(port()));
  auto r = c.roundTrip(rawRequest("GET", "/headers"));
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["X-Custom"], "yes");
  EXPECT_EQ(r->find("X-Evil"), r->end());
  EXPECT_EQ(r->find("Injected"), r->end());
  EXPECT_FALSE(r->keep_alive());
  EXPECT_TRUE(c.waitClosed());
}

TEST_F(HttpServerTest, HeadUsesGetHandlerWithoutBody) {
  startServer();
  TestClient c;
  ASSERT_TRUE(c.connect(port()));
  ASSERT_TRUE(c.send(rawRequest("HEAD", "/healthz")));
  auto r = c.read(5s, /*head_request=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ((*r)[boost::beast::http::field::content_length], "3");
  EXPECT_TRUE(r->body().empty());
  auto next = c.roundTrip(rawRequest("GET", "/healthz"));  // no stray body bytes in between
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body(), "ok\n");
}

TEST_F(HttpServerTest, ExpectContinueGetsInterimResponse) {
  startServer();
  TestClient c;
  ASSERT_TRUE(c.connect(port()));
  ASSERT_TRUE(c.send(
      "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = c.read(5s);
  ASSERT_TRUE(interim) << c.lastError().message();
  EXPECT_EQ(interim->result_int(), 100);
  ASSERT_TRUE(c.send("hello"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ(r->body(), "hello");
}

TEST_F(HttpServerTest, RequestIdIsEchoedOrGenerated) {
  startServer();
  TestClient c;
  ASSERT_TRUE(c.connect(port()));
  auto echoed = c.roundTrip(rawRequest("GET", "/webhooks/x", {{"X-Request-Id", "abc-123.Z_9"}}));
  ASSERT_TRUE(echoed);
  EXPECT_EQ((*echoed)["X-Request-Id"], "abc-123.Z_9");
  EXPECT_NE(echoed->body().find("request_id=abc-123.Z_9\n"), std::string::npos);

  auto insane =
      c.roundTrip(rawRequest("GET", "/webhooks/x", {{"X-Request-Id", "bad id; DROP TABLE"}}));
  ASSERT_TRUE(insane);
  std::string generated((*insane)["X-Request-Id"]);
  EXPECT_EQ(generated.size(), 16u);
  EXPECT_EQ(generated.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(insane->body().find("request_id=" + generated + "\n"), std::string::npos);

  auto too_long =
      c.roundTrip(rawRequest("GET", "/healthz", {{"X-Request-Id", std::string(65, 'a')}}));
  ASSERT_TRUE(too_long);
  EXPECT_EQ((*too_long)["X-Request-Id"].size(), 16u);

  auto none1 = c.roundTrip(rawRequest("GET", "/nope"));  // 404s carry one too
  auto none2 = c.roundTrip(rawRequest("GET", "/nope"));
  ASSERT_TRUE(none1 && none2);
  EXPECT_EQ((*none1)["X-Request-Id"].size(), 16u);
  EXPECT_NE((*none1)["X-Request-Id"], (*none2)["X-Request-Id"]);
}

TEST_F(HttpServerTest, ConnectionsBeyondTheCapAreClosed) {
  ServerOptions opts;
  opts.max_connections = 2;
  startServer(opts);
  TestClient a;
  TestClient b;
  ASSERT_TRUE(a.connect(port()));
  ASSERT_TRUE(b.connect(port()));
  ASSERT_TRUE(a.roundTrip(rawRequest("GET", "/healthz")));
  ASSERT_TRUE(b.roundTrip(rawRequest("GET", "/healthz")));
  ASSERT_EQ(server_->activeConnections(), 2u);
  TestClient extra;
  ASSERT_TRUE(extra.connect(port()));  // the kernel completes the handshake
  extra.send(rawRequest("GET", "/healthz"));
  EXPECT_FALSE(extra.read(5s));
  EXPECT_FALSE(extra.timedOut());  // closed by the server, not left hanging
  a.close();
  ASSERT_TRUE(eventually([&] { return server_->activeConnections() == 1; }));
  TestClient later;
  ASSERT_TRUE(later.connect(port()));
  auto r = later.roundTrip(rawRequest("GET", "/healthz"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
}

TEST_F(HttpServerTest, GracefulShutdownFinishesTheRequestInFlight) {
  startServer();
  TestClient idle;
  ASSERT_TRUE(idle.connect(port()));
  ASSERT_TRUE(idle.roundTrip(rawRequest("GET", "/healthz")));

  TestClient busy;
  ASSERT_TRUE(busy.connect(port()));
  ASSERT_TRUE(busy.send(rawRequest("GET", "/hold")));
  ASSERT_TRUE(held_.waitFor(1));

  std::promise<void> done;
  auto done_future = done.get_future();
  uint16_t bound_port = port();
  server_->shutdown(10s, [&] { done.set_value(); });

  // Idle keep-alive connections are closed at once.
  EXPECT_TRUE(idle.waitClosed());
  // New connections are refused (or closed before any response).
  TestClient late;
  if (late.connect(bound_port)) {
    late.send(rawRequest("GET", "/healthz"), 1s);
    EXPECT_FALSE(late.read(5s));
    EXPECT_FALSE(late.timedOut());
  }
  EXPECT_EQ(done_future.wait_for(50ms), std::future_status::timeout);

  held_.take()(HttpResponse::text(200, "finished"));
  auto r = busy.read();
  ASSERT_TRUE(r) << busy.lastError().message();
  EXPECT_EQ(r->body(), "finished");
  EXPECT_FALSE(r->keep_alive());
  EXPECT_TRUE(busy.waitClosed());
  EXPECT_EQ(done_future.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(server_->activeConnections(), 0u);

  // A second shutdown request just reports completion.
  std::promise<void> again;
  server_->shutdown(1s, [&] { again.set_value(); });
  EXPECT_EQ(again.get_future().wait_for(5s), std::future_status::ready);
}

TEST_F(HttpServerTest, ShutdownForceClosesStragglersAfterGrace) {
  startServer();
  TestClient busy;
  ASSERT_TRUE(busy.connect(port()));
  ASSERT_TRUE(busy.send(rawRequest("GET", "/hold")));
  ASSERT_TRUE(held_.waitFor(1));
  std::promise<void> done;
  auto done_future = done.get_future();
  server_->shutdown(200ms, [&] { done.set_value(); });
  EXPECT_EQ(done_future.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(busy.waitClosed());
  EXPECT_EQ(server_->activeConnections(), 0u);
  // Answering after the force-close is harmless.
  held_.take()(HttpResponse::text(200, "too late"));
}

TEST_F(HttpServerTest, ShutdownWithNoConnectionsCompletesAtOnce) {
  startServer();
  std::promise<void> done;
  server_->shutdown(10s, [&] { done.set_value(); });
  EXPECT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
}

TEST_F(HttpServerTest, ManyConcurrentKeepAliveClients) {
  startServer();
  constexpr int kClients = 50;
  constexpr int kRequests = 20;
  std::atomic<int> answered{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      TestClient c;
      if (!c.connect(port())) {
        ++wrong;
        return;
      }
      for (int j = 0; j < kRequests; ++j) {
        std::string body = "client" + std::to_string(i) + "-req" + std::to_string(j);
        auto r = c.roundTrip(rawRequest("POST", "/echo", {}, body), 20s);
        if (!r || r->result_int() != 200 || r->body() != body) {
          ++wrong;
          return;
        }
        ++answered;
      }
    });
  }
  for (auto& t : clients) {
    t.join();
  }
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(answered.load(), kClients * kRequests);
  EXPECT_EQ(observer_.opened_.load(), kClients);
  EXPECT_TRUE(eventually([&] {
    return observer_.requests().size() == static_cast<std::size_t>(kClients * kRequests);
  }));
}

TEST(HttpServerStartTest, PortInUseGivesAClearError) {
  boost::asio::io_context ioc;
  Router router;
  HttpServer first(ioc, ServerOptions{.port = 0}, router);
  first.start();
  ServerOptions opts;
  opts.port = first.port();
  HttpServer second(ioc, opts, router);
  try {
    second.start();
    FAIL() << "expected start() to throw";
  } catch (const std::runtime_error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("cannot listen on 127.0.0.1:" + std::to_string(first.port())),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("in use"), std::string::npos) << msg;
    EXPECT_NE(msg.find("server.listen"), std::string::npos) << msg;
  }
}

TEST(HttpServerStartTest, BadAddressGivesAClearError) {
  boost::asio::io_context ioc;
  Router router;
  HttpServer server(ioc, ServerOptions{.address = "not-an-ip", .port = 0}, router);
  try {
    server.start();
    FAIL() << "expected start() to throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("invalid listen address 'not-an-ip'"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace waflow::core::httpd
