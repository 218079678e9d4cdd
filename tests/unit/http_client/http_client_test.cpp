// HttpClient against a real local HTTP/1.1 server (TestHttpServer) over loopback sockets.
#include <utility>

#include "http_client/http_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "test_http_server.h"
#include "tls_test_server.h"

namespace waflow::core {
namespace {

using namespace std::chrono_literals;
using test::TestHttpServer;
namespace asio = boost::asio;

// Collects callbacks from the loop thread for the test thread.
class Collector {
 public:
  explicit Collector(std::size_t expected) : expected_(expected) {}

  HttpClient::Callback callback(std::size_t slot) {
    return [this, slot](ClientResponse resp) {
      std::lock_guard lock(mu_);
      responses_.emplace_back(slot, std::move(resp));
      threads_.insert(std::this_thread::get_id());
      if (responses_.size() == expected_) {
        all_.set_value();
      }
    };
  }
  bool wait(std::chrono::seconds limit = 30s) {
    return future_.wait_for(limit) == std::future_status::ready;
  }
  std::vector<std::pair<std::size_t, ClientResponse>> responses() {
    std::lock_guard lock(mu_);
    return responses_;
  }
  std::size_t count() {
    std::lock_guard lock(mu_);
    return responses_.size();
  }
  std::set<std::thread::id> threads() {
    std::lock_guard lock(mu_);
    return threads_;
  }

 private:
  std::size_t expected_;
  std::mutex mu_;
  std::vector<std::pair<std::size_t, ClientResponse>> responses_;
  std::set<std::thread::id> threads_;
  std::promise<void> all_;
  std::future<void> future_ = all_.get_future();
};

class HttpClientTest : public ::testing::Test {
 protected:
  HttpClientTest() {
    // A proxy in the environment must not capture the loopback test traffic.
    ::setenv("no_proxy", "127.0.0.1,localhost", 1);
  }

  void startClient(ClientOptions opts = {}, int loop_threads = 1) {
    client_ = std::make_unique<HttpClient>(ioc_, std::move(opts));
    for (int i = 0; i < loop_threads; ++i) {
      loop_.emplace_back([this] { ioc_.run(); });
    }
  }

  void stopLoop() {
    guard_.reset();
    ioc_.stop();
    for (auto& t : loop_) {
      t.join();
    }
    loop_.clear();
  }

  void TearDown() override {
    if (client_) {
      client_->shutdown();
    }
    stopLoop();
    client_.reset();
  }

  ClientResponse fetch(ClientRequest req) {
    auto promise = std::make_shared<std::promise<ClientResponse>>();
    auto future = promise->get_future();
    client_->send(std::move(req),
                  [promise](ClientResponse r) { promise->set_value(std::move(r)); });
    if (future.wait_for(30s) != std::future_status::ready) {
      ADD_FAILURE() << "request did not complete within 30 s";
      return ClientResponse{.error = ClientError::kOther};
    }
    return future.get();
  }

  ClientRequest get(std::string target) {
    ClientRequest req;
    req.url = server_.url(target);
    return req;
  }

  TestHttpServer server_;
  asio::io_context ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_{
      ioc_.get_executor()};
  std::vector<std::thread> loop_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(HttpClientTest, GetSendsMethodPathAndHeaders) {
  startClient();
  ClientRequest req = get("/echo/get?x=1&y=two");
  req.headers = {{"X-Custom", "Hello World"}, {"Authorization", "Bearer abc.def"}, {"X-Empty", ""}};
  ClientResponse resp = fetch(req);

  ASSERT_TRUE(resp.ok()) << resp.error_message;
  EXPECT_EQ(resp.status, 200);
  EXPECT_TRUE(resp.error_message.empty());
  EXPECT_EQ(resp.header("x-echo-method"), "GET");
  EXPECT_EQ(resp.header("X-Echo-Target"), "/echo/get?x=1&y=two");
  EXPECT_EQ(resp.header("x-req-x-custom"), "Hello World");
  EXPECT_EQ(resp.header("x-req-authorization"), "Bearer abc.def");
  EXPECT_EQ(resp.header("x-req-x-empty"), "");
  EXPECT_EQ(resp.header("x-req-user-agent"), "waflow/0.1");
  // No made-up headers: no form content type, no Expect round trip.
  EXPECT_FALSE(resp.header("x-req-content-type").has_value());
  EXPECT_FALSE(resp.header("x-req-expect").has_value());
  EXPECT_TRUE(resp.body.empty());
  EXPECT_GT(resp.elapsed.count(), 0);
  // Names arrive lower-cased; lookup ignores case.
  EXPECT_EQ(resp.header("X-MIXED-CASE"), "yes");
  bool saw_mixed = false;
  for (const auto& [name, value] : resp.headers) {
    for (char c : name) {
      EXPECT_FALSE(std::isupper(static_cast<unsigned char>(c))) << name;
    }
    saw_mixed = saw_mixed || name == "x-mixed-case";
  }
  EXPECT_TRUE(saw_mixed);
}

TEST_F(HttpClientTest, PostSendsBodyAndContentType) {
  startClient();
  ClientRequest req = get("/echo/post");
  req.method = "POST";
  req.headers = {{"Content-Type", "application/json"}};
  req.body = R"({"model":"x","messages":[]})";
  ClientResponse resp = fetch(req);

  ASSERT_TRUE(resp.ok()) << resp.error_message;
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.header("x-echo-method"), "POST");
  EXPECT_EQ(resp.header("x-echo-target"), "/echo/post");
  EXPECT_EQ(resp.header("x-req-content-type"), "application/json");
  EXPECT_EQ(resp.header("x-req-content-length"), std::to_string(req.body.size()));
  EXPECT_EQ(resp.body, req.body);
}

TEST_F(HttpClientTest, OtherMethodsKeepTheirNameAndBody) {
  startClient();
  for (std::string method : {"PUT", "PATCH", "DELETE"}) {
    ClientRequest req = get("/echo");
    req.method = method;
    req.body = "payload for " + method;
    ClientResponse resp = fetch(req);
    ASSERT_TRUE(resp.ok()) << resp.error_message;
    EXPECT_EQ(resp.header("x-echo-method"), method);
    EXPECT_EQ(resp.body, req.body);
  }
  ClientRequest del = get("/echo");
  del.method = "DELETE";
  ClientResponse resp = fetch(del);
  EXPECT_EQ(resp.header("x-echo-method"), "DELETE");
  EXPECT_TRUE(resp.body.empty());

  ClientRequest head = get("/bytes?n=100");
  head.method = "HEAD";
  resp = fetch(head);
  ASSERT_TRUE(resp.ok()) << resp.error_message;
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.header("content-length"), "100");
  EXPECT_TRUE(resp.body.empty());
}

TEST_F(HttpClientTest, HttpErrorStatusIsNotATransportError) {
  startClient();
  ClientResponse resp = fetch(get("/status?code=404"));
  EXPECT_EQ(resp.status, 404);
  EXPECT_EQ(resp.error, ClientError::kNone);
  resp = fetch(get("/status?code=503"));
  EXPECT_EQ(resp.status, 503);
  EXPECT_EQ(resp.error, ClientError::kNone);
}

TEST_F(HttpClientTest, ThousandConcurrentRequestsOnOneLoopThread) {
  constexpr std::size_t kRequests = 1000;
  startClient();
  const int threads_before = test::processThreadCount();
  Collector collector(kRequests);
  for (std::size_t i = 0; i < kRequests; ++i) {
    ClientRequest req = get("/echo?delay_ms=500&i=" + std::to_string(i));
    req.method = "POST";
    req.body = "request-" + std::to_string(i);
    client_->send(std::move(req), collector.callback(i));
  }
  // The server holds each answer 500 ms, so once it has read them all, all are in flight.
  ASSERT_TRUE(server_.waitForRequests(kRequests, 30000));
  const int threads_during = test::processThreadCount();
  EXPECT_GT(client_->stats().in_flight, 0u);
  ASSERT_TRUE(collector.wait());

  // No thread per request: the loop thread (started before the baseline) does everything.
  EXPECT_LE(threads_during, threads_before + 2);
  auto responses = collector.responses();
  ASSERT_EQ(responses.size(), kRequests);
  std::vector<bool> seen(kRequests, false);
  for (const auto& [slot, resp] : responses) {
    ASSERT_TRUE(resp.ok()) << resp.error_message;
    EXPECT_EQ(resp.status, 200);
    EXPECT_EQ(resp.body, "request-" + std::to_string(slot));
    EXPECT_EQ(resp.header("x-echo-target"), "/echo?delay_ms=500&i=" + std::to_string(slot));
    seen[slot] = true;
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), static_cast<long>(kRequests));
  EXPECT_EQ(collector.threads().size(), 1u);  // every callback on the single loop thread
  HttpClient::Stats stats = client_->stats();
  EXPECT_EQ(stats.in_flight, 0u);
  EXPECT_EQ(stats.completed, kRequests);
  EXPECT_EQ(stats.connections_opened, server_.connectionsAccepted());
}

TEST_F(HttpClientTest, SendFromManyThreadsWithMultiThreadedLoop) {
  constexpr std::size_t kSenders = 4;
  constexpr std::size_t kPerSender = 100;
  startClient({}, 2);
  Collector collector(kSenders * kPerSender);
  std::mutex ids_mu;
  std::set<uint64_t> ids;
  std::vector<std::thread> senders;
  for (std::size_t s = 0; s < kSenders; ++s) {
    senders.emplace_back([&, s] {
      for (std::size_t i = 0; i < kPerSender; ++i) {
        std::size_t slot = s * kPerSender + i;
        ClientRequest req = get("/echo");
        req.method = "POST";
        req.body = std::to_string(slot);
        uint64_t id = client_->send(std::move(req), collector.callback(slot));
        std::lock_guard lock(ids_mu);
        ids.insert(id);
      }
    });
  }
  for (auto& t : senders) {
    t.join();
  }
  ASSERT_TRUE(collector.wait());
  EXPECT_EQ(ids.size(), kSenders * kPerSender);
  EXPECT_FALSE(ids.contains(0));
  for (const auto& [slot, resp] : collector.responses()) {
    ASSERT_TRUE(resp.ok()) << resp.error_message;
    EXPECT_EQ(resp.body, std::to_string(slot));
  }
  EXPECT_EQ(client_->stats().completed, kSenders * kPerSender);
}

TEST_F(HttpClientTest, RequestTimeoutFiresBeforeTheSlowServerAnswers) {
  startClient();
  ClientRequest req = get("/echo?delay_ms=20000");
  req.timeout = 200ms;
  ClientResponse resp = fetch(req);
  EXPECT_EQ(resp.error, ClientError::kTimeout) << resp.error_message;
  EXPECT_EQ(resp.status, 0);
  EXPECT_FALSE(resp.error_message.empty());
  // kTimeout and no status mean the 20 s answer was never waited for; and the
  // limit was not applied early.
  EXPECT_GE(resp.elapsed, 150ms);
  // The server had the request: it may have acted on it (a send may have been delivered).
  EXPECT_TRUE(resp.request_sent);
}

TEST_F(HttpClientTest, ConnectionRefusedIsConnectErrorAndLeaksNoSecrets) {
  startClient();
  ClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(test::unusedLocalPort()) +
            "/v1/chat?key=sekrit-query-key";
  req.headers = {{"Authorization", "Bearer sekrit-token-123"}};
  ClientResponse resp = fetch(req);
  EXPECT_EQ(resp.error, ClientError::kConnect) << resp.error_message;
  EXPECT_EQ(resp.status, 0);
  EXPECT_FALSE(resp.request_sent);  // nothing reached a server: repeating it is safe
  EXPECT_FALSE(resp.error_message.empty());
  EXPECT_NE(resp.error_message.find("/v1/chat"), std::string::npos) << resp.error_message;
  EXPECT_EQ(resp.error_message.find("sekrit"), std::string::npos) << resp.error_message;
}

TEST_F(HttpClientTest, SequentialRequestsReuseOneConnection) {
  startClient();
  for (int i = 0; i < 10; ++i) {
    ClientResponse resp = fetch(get("/echo?i=" + std::to_string(i)));
    ASSERT_TRUE(resp.ok()) << resp.error_message;
  }
  EXPECT_EQ(client_->stats().connections_opened, 1u);
  EXPECT_EQ(server_.connectionsAccepted(), 1u);

  // A server that closes after answering forces a fresh connection for the next request, and
  // the counter sees it: the first close rides connection 1, the next two need 2 and 3.
  ASSERT_TRUE(fetch(get("/echo?close=1")).ok());
  ASSERT_TRUE(fetch(get("/echo?close=1")).ok());
  ASSERT_TRUE(fetch(get("/echo")).ok());
  EXPECT_EQ(client_->stats().connections_opened, 3u);
  EXPECT_EQ(server_.connectionsAccepted(), 3u);
}

TEST_F(HttpClientTest, ConnectionsSurviveABurstOfCompletions) {
  // A whole wave finishing at once must not shrink the connection cache: the next wave reuses
  // every connection of the first.
  constexpr std::size_t kWave = 20;
  startClient();
  for (int wave = 0; wave < 3; ++wave) {
    Collector collector(kWave);
    for (std::size_t i = 0; i < kWave; ++i) {
      client_->send(get("/echo?delay_ms=50"), collector.callback(i));
    }
    ASSERT_TRUE(collector.wait());
    for (const auto& [slot, resp] : collector.responses()) {
      ASSERT_TRUE(resp.ok()) << resp.error_message;
    }
  }
  EXPECT_EQ(client_->stats().connections_opened, kWave);
  EXPECT_EQ(server_.connectionsAccepted(), kWave);
}

TEST_F(HttpClientTest, LoadAboveTheCacheSizeStillReusesConnections) {
  // 20 requests kept in flight with a cache of 4: libcurl counts the connections in use
  // against its cache limit, so without raising it every completion would close its
  // connection and every new request would open one (about 100 connections here).
  constexpr std::size_t kInFlight = 20;
  constexpr std::size_t kTotal = 100;
  ClientOptions opts;
  opts.max_cached_connections = 4;
  startClient(opts);
  Collector collector(kTotal);
  std::atomic<std::size_t> sent{kInFlight};
  std::function<void(std::size_t)> sendNext = [&](std::size_t slot) {
    client_->send(get("/echo?delay_ms=20"), [&, slot](ClientResponse resp) {
      if (sent.fetch_add(1) < kTotal) {
        sendNext(slot);
      }
      collector.callback(slot)(std::move(resp));  // last: the test may end once all are in
    });
  };
  for (std::size_t i = 0; i < kInFlight; ++i) {
    sendNext(i);
  }
  ASSERT_TRUE(collector.wait());
  for (const auto& [slot, resp] : collector.responses()) {
    ASSERT_TRUE(resp.ok()) << resp.error_message;
  }
  EXPECT_EQ(client_->stats().connections_opened, kInFlight);
  EXPECT_EQ(server_.connectionsAccepted(), kInFlight);
}

TEST_F(HttpClientTest, ShardsShareTheLoadAndEachRequestIsTheirsToCancel) {
  ClientOptions opts;
  opts.shards = 3;
  startClient(opts, 2);
  // Requests go to the shards in turn; every one completes, on any of the loop threads.
  Collector collector(30);
  for (std::size_t i = 0; i < 30; ++i) {
    client_->send(get("/echo?delay_ms=20&i=" + std::to_string(i)), collector.callback(i));
  }
  ASSERT_TRUE(collector.wait());
  for (const auto& [slot, resp] : collector.responses()) {
    ASSERT_TRUE(resp.ok()) << resp.error_message;
    EXPECT_EQ(resp.status, 200);
  }
  EXPECT_EQ(client_->stats().completed, 30u);
  // Each shard keeps its own connections: at least one each, never more than the requests.
  EXPECT_GE(client_->stats().connections_opened, 3u);
  EXPECT_LE(client_->stats().connections_opened, 30u);

  // An id names its shard: cancelling requests that landed on different shards works.
  Collector slow(3);
  std::vector<uint64_t> ids;
  for (std::size_t i = 0; i < 3; ++i) {
    ids.push_back(client_->send(get("/echo?delay_ms=20000"), slow.callback(i)));
  }
  EXPECT_NE(ids[0] % 16, ids[1] % 16);
  EXPECT_NE(ids[1] % 16, ids[2] % 16);
  for (uint64_t id : ids) {
    client_->cancel(id);
  }
  ASSERT_TRUE(slow.wait());
  for (const auto& [slot, resp] : slow.responses()) {
    EXPECT_EQ(resp.error, ClientError::kCancelled);
  }
  EXPECT_EQ(client_->stats().in_flight, 0u);
}

TEST_F(HttpClientTest, ConnectionLimitPerHostIsHonoured) {
  ClientOptions opts;
  opts.max_connections_per_host = 4;
  startClient(opts);
  Collector collector(100);
  for (std::size_t i = 0; i < 100; ++i) {
    client_->send(get("/echo?delay_ms=20&i=" + std::to_string(i)), collector.callback(i));
  }
  ASSERT_TRUE(collector.wait());
  for (const auto& [slot, resp] : collector.responses()) {
    ASSERT_TRUE(resp.ok()) << resp.error_message;
  }
  EXPECT_LE(server_.connectionsAccepted(), 4u);
  EXPECT_EQ(client_->stats().connections_opened, server_.connectionsAccepted());
}

TEST_F(HttpClientTest, CancelDeliversCancelledExactlyOnce) {
  startClient();
  Collector collector(1);
  uint64_t id = client_->send(get("/echo?delay_ms=20000"), collector.callback(0));
  ASSERT_TRUE(server_.waitForRequests(1));
  client_->cancel(id);
  ASSERT_TRUE(collector.wait());
  client_->cancel(id);      // already done: no second callback
  client_->cancel(987654);  // unknown id: ignored
  // Requests run on the same strand in order, so once this one is back the cancels above have
  // been processed.
  ASSERT_TRUE(fetch(get("/echo")).ok());
  auto responses = collector.responses();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].second.error, ClientError::kCancelled);
  EXPECT_EQ(responses[0].second.status, 0);

  // Cancelled before it even started.
  Collector early(1);
  uint64_t early_id = client_->send(get("/echo?delay_ms=20000"), early.callback(0));
  client_->cancel(early_id);
  ASSERT_TRUE(early.wait());
  ASSERT_TRUE(fetch(get("/echo")).ok());
  ASSERT_EQ(early.count(), 1u);
  EXPECT_EQ(early.responses()[0].second.error, ClientError::kCancelled);
  EXPECT_EQ(client_->stats().in_flight, 0u);
}

TEST_F(HttpClientTest, ShutdownFailsEveryRequestInFlight) {
  constexpr std::size_t kRequests = 20;
  startClient();
  Collector collector(kRequests);
  for (std::size_t i = 0; i < kRequests; ++i) {
    client_->send(get("/echo?delay_ms=20000&i=" + std::to_string(i)), collector.callback(i));
  }
  ASSERT_TRUE(server_.waitForRequests(kRequests));
  client_->shutdown();
  ASSERT_TRUE(collector.wait(10s));
  for (const auto& [slot, resp] : collector.responses()) {
    EXPECT_EQ(resp.error, ClientError::kShutdown);
    EXPECT_EQ(resp.status, 0);
  }
  EXPECT_EQ(client_->stats().in_flight, 0u);
  EXPECT_EQ(client_->stats().completed, kRequests);

  // Later sends fail fast, on the loop thread, never inline.
  Collector late(1);
  client_->send(get("/echo"), late.callback(0));
  ASSERT_TRUE(late.wait(10s));
  EXPECT_EQ(late.responses()[0].second.error, ClientError::kShutdown);
  EXPECT_FALSE(late.threads().contains(std::this_thread::get_id()));
  EXPECT_EQ(server_.requestsReceived(), kRequests);
}

TEST_F(HttpClientTest, ResponseOverLimitIsTooLarge) {
  ClientOptions opts;
  opts.max_response_bytes = 1024 * 1024;
  startClient(opts);
  // Announced by Content-Length, and discovered while streaming a chunked body.
  for (std::string target : {"/bytes?n=2097152", "/bytes?n=2097152&chunked=1"}) {
    ClientResponse resp = fetch(get(target));
    EXPECT_EQ(resp.error, ClientError::kTooLarge) << target << ": " << resp.error_message;
    EXPECT_EQ(resp.status, 0);
    EXPECT_TRUE(resp.body.empty());
    EXPECT_NE(resp.error_message.find("max_response_bytes"), std::string::npos);
  }
  ClientResponse exact = fetch(get("/bytes?n=1048576&chunked=1"));
  ASSERT_TRUE(exact.ok()) << exact.error_message;
  EXPECT_EQ(exact.body.size(), 1024u * 1024u);
}

TEST_F(HttpClientTest, LargeBodiesTravelIntact) {
  constexpr std::size_t kSize = 5 * 1024 * 1024;
  startClient();
  ClientRequest up = get("/echo");
  up.method = "POST";
  up.body.resize(kSize);
  uint32_t x = 12345;
  for (char& c : up.body) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  ClientResponse echoed = fetch(up);
  ASSERT_TRUE(echoed.ok()) << echoed.error_message;
  EXPECT_EQ(echoed.body.size(), kSize);
  EXPECT_TRUE(echoed.body == up.body);

  ClientResponse down = fetch(get("/bytes?n=" + std::to_string(kSize)));
  ASSERT_TRUE(down.ok()) << down.error_message;
  ASSERT_EQ(down.body.size(), kSize);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < kSize; ++i) {
    mismatches += down.body[i] != TestHttpServer::byteAt(i) ? 1 : 0;
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST_F(HttpClientTest, InvalidRequestsFailWithClearMessagesAndNoValues) {
  startClient();
  ClientRequest injected = get("/echo");
  injected.headers = {{"X-Token", "sekrit\r\nX-Evil: 1"}};
  ClientResponse resp = fetch(injected);
  EXPECT_EQ(resp.error, ClientError::kOther);
  EXPECT_NE(resp.error_message.find("X-Token"), std::string::npos) << resp.error_message;
  EXPECT_EQ(resp.error_message.find("sekrit"), std::string::npos) << resp.error_message;

  ClientRequest bad_name = get("/echo");
  bad_name.headers = {{"Bad Name", "v"}};
  EXPECT_EQ(fetch(bad_name).error, ClientError::kOther);

  EXPECT_EQ(fetch(ClientRequest{}).error, ClientError::kOther);  // empty URL

  ClientRequest file;
  file.url = "file:///etc/passwd";  // only http and https are enabled
  resp = fetch(file);
  EXPECT_EQ(resp.error, ClientError::kOther);
  EXPECT_TRUE(resp.body.empty());
  EXPECT_EQ(server_.requestsReceived(), 0u);
  EXPECT_EQ(client_->stats().in_flight, 0u);
}

TEST_F(HttpClientTest, DestroyingWithLoopStoppedDropsCallbacksSafely) {
  startClient();
  auto calls = std::make_shared<std::atomic<int>>(0);
  for (int i = 0; i < 5; ++i) {
    client_->send(get("/echo?delay_ms=20000"), [calls](ClientResponse) { ++*calls; });
  }
  ASSERT_TRUE(server_.waitForRequests(5));
  stopLoop();
  // Queued while the loop is stopped: these handlers outlive the client.
  client_->cancel(2);
  client_->send(get("/echo"), [calls](ClientResponse) { ++*calls; });
  client_->shutdown();
  client_.reset();
  // Handlers still queued for the dead client must be harmless when the loop runs again.
  ioc_.restart();
  ioc_.run_for(100ms);
  EXPECT_EQ(calls->load(), 0);
}

TEST_F(HttpClientTest, TlsCertificatesAreVerifiedUnlessExplicitlyDisabled) {
  test::TlsTestServer tls;  // self-signed: no CA vouches for it
  startClient();
  ClientRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(tls.port()) + "/v1/models";
  ClientResponse resp = fetch(req);
  EXPECT_EQ(resp.error, ClientError::kTls) << resp.error_message;
  EXPECT_NE(resp.error_message.find("certificate"), std::string::npos) << resp.error_message;
  EXPECT_EQ(resp.status, 0);
  EXPECT_EQ(tls.handshakes(), 0u);

  req.verify_tls = false;
  resp = fetch(req);
  ASSERT_TRUE(resp.ok()) << resp.error_message;
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, "ok");
  EXPECT_EQ(tls.handshakes(), 1u);
}

TEST_F(HttpClientTest, ProxyFromTheEnvironmentIsHonoured) {
  // Point http_proxy at the test server: a request for another host then reaches it in
  // absolute form, which only happens if libcurl used the proxy.
  ::setenv("http_proxy", server_.url("").c_str(), 1);
  ::unsetenv("no_proxy");
  startClient();
  ClientRequest req;
  req.url = "http://api.example.invalid/echo/via-proxy";
  ClientResponse resp = fetch(req);
  stopLoop();  // no getenv() on the loop thread while the environment changes
  ::unsetenv("http_proxy");
  ASSERT_TRUE(resp.ok()) << resp.error_message;
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.header("x-echo-target"), "http://api.example.invalid/echo/via-proxy");
}

// Bodies streamed into ClientRequest::response_file.
class ResponseFileTest : public HttpClientTest {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "waflow-rf-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    HttpClientTest::TearDown();
    std::filesystem::remove_all(dir_);
  }
  ClientRequest download(std::string target, std::size_t cap = 0) {
    ClientRequest req = get(std::move(target));
    req.response_file = (dir_ / "body.part").string();
    req.max_response_bytes = cap;
    return req;
  }
  std::string fileContents() const {
    std::ifstream in(dir_ / "body.part", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  bool fileExists() const { return std::filesystem::exists(dir_ / "body.part"); }

  std::filesystem::path dir_;
};

std::string expectedBytes(std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = TestHttpServer::byteAt(i);
  }
  return out;
}

TEST_F(ResponseFileTest, A2xxBodyGoesToTheFileNotToMemory) {
  constexpr std::size_t kSize = 3 * 1024 * 1024;
  startClient();
  for (std::string chunked : {"", "&chunked=1"}) {
    ClientResponse resp = fetch(download("/bytes?n=" + std::to_string(kSize) + chunked));
    ASSERT_TRUE(resp.ok()) << resp.error_message;
    EXPECT_EQ(resp.status, 200);
    EXPECT_TRUE(resp.body.empty());
    EXPECT_EQ(resp.file_bytes, kSize);
    EXPECT_TRUE(fileContents() == expectedBytes(kSize)) << chunked;
  }
  ClientResponse empty = fetch(download("/bytes?n=0"));
  ASSERT_TRUE(empty.ok()) << empty.error_message;
  EXPECT_TRUE(fileExists());
  EXPECT_EQ(fileContents(), "");
}

TEST_F(ResponseFileTest, TheCapAbortsTheTransferAndLeavesNoPartialFile) {
  startClient();
  // Announced by Content-Length (refused before the body), and found while streaming chunks.
  for (std::string target : {"/bytes?n=2097152", "/bytes?n=2097152&chunked=1"}) {
    ClientResponse resp = fetch(download(target, 1024 * 1024));
    EXPECT_EQ(resp.error, ClientError::kTooLarge) << target << ": " << resp.error_message;
    EXPECT_EQ(resp.status, 0);
    EXPECT_NE(resp.error_message.find("max_response_bytes (1048576 bytes)"), std::string::npos)
        << resp.error_message;
    EXPECT_FALSE(fileExists()) << target;
  }
  ClientResponse exact = fetch(download("/bytes?n=1048576&chunked=1", 1024 * 1024));
  ASSERT_TRUE(exact.ok()) << exact.error_message;
  EXPECT_EQ(std::filesystem::file_size(dir_ / "body.part"), 1024u * 1024u);
}

TEST_F(ResponseFileTest, AFileMayExceedTheMemoryCapButAMemoryBodyMayNot) {
  ClientOptions opts;
  opts.max_response_bytes = 1024 * 1024;
  startClient(opts);
  ClientResponse to_file = fetch(download("/bytes?n=3000000", 4 * 1024 * 1024));
  ASSERT_TRUE(to_file.ok()) << to_file.error_message;
  EXPECT_EQ(to_file.file_bytes, 3000000u);

  ClientRequest in_memory = get("/bytes?n=3000000");
  in_memory.max_response_bytes = 4 * 1024 * 1024;  // cannot raise the client's own cap
  EXPECT_EQ(fetch(in_memory).error, ClientError::kTooLarge);
  ClientRequest lowered = get("/bytes?n=2000");
  lowered.max_response_bytes = 1000;  // but can lower it
  EXPECT_EQ(fetch(lowered).error, ClientError::kTooLarge);
}

TEST_F(ResponseFileTest, ErrorStatusesKeepTheirBodyInMemoryAndCreateNoFile) {
  startClient();
  ClientResponse resp = fetch(download("/status?code=404"));
  ASSERT_TRUE(resp.ok()) << resp.error_message;
  EXPECT_EQ(resp.status, 404);
  EXPECT_FALSE(fileExists());
  ClientResponse echoed = fetch(download("/echo"));  // 200 with the (empty) request body
  ASSERT_TRUE(echoed.ok());
  EXPECT_TRUE(fileExists());
}

TEST_F(ResponseFileTest, UnwritablePathsFailWithTheReason) {
  startClient();
  ClientRequest missing_dir = download("/bytes?n=10");
  missing_dir.response_file = (dir_ / "no-such-dir" / "f").string();
  ClientResponse resp = fetch(missing_dir);
  EXPECT_EQ(resp.error, ClientError::kOther);
  EXPECT_NE(resp.error_message.find("cannot create response file"), std::string::npos)
      << resp.error_message;

  // A symbolic link planted where the file goes is not followed.
  std::filesystem::create_symlink(dir_ / "elsewhere", dir_ / "body.part");
  ClientResponse link = fetch(download("/bytes?n=10"));
  EXPECT_EQ(link.error, ClientError::kOther) << link.error_message;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "elsewhere"));
}

TEST(ClientErrorTest, NamesAreStable) {
  EXPECT_EQ(toString(ClientError::kNone), "none");
  EXPECT_EQ(toString(ClientError::kTimeout), "timeout");
  EXPECT_EQ(toString(ClientError::kTooLarge), "too_large");
  EXPECT_EQ(toString(ClientError::kShutdown), "shutdown");
}

}  // namespace
}  // namespace waflow::core
