// Drives N requests through HttpClient with C in flight against a local keep-alive server and
// prints throughput, latency percentiles, connections opened and thread counts.
//   waflow-bench-http-client [--requests N] [--concurrency C] [--server-threads T]
//                            [--body-bytes B]
#include <utility>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "http_client/http_client.h"
#include "proc_stats.h"
#include "test_http_server.h"

namespace {

using waflow::core::ClientRequest;
using waflow::core::ClientResponse;
using waflow::core::HttpClient;
using Clock = std::chrono::steady_clock;

double percentileMs(std::vector<uint32_t>& sorted_us, double p) {
  if (sorted_us.empty()) {
    return 0;
  }
  std::size_t index = static_cast<std::size_t>(p * static_cast<double>(sorted_us.size() - 1));
  return sorted_us[index] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t total = 100000;
  std::size_t concurrency = 1000;
  int server_threads = 1;
  std::size_t body_bytes = 0;
  CLI::App app{"HttpClient benchmark against an in-process keep-alive HTTP/1.1 server"};
  app.add_option("--requests", total, "total requests")->check(CLI::PositiveNumber);
  app.add_option("--concurrency", concurrency, "requests in flight")->check(CLI::PositiveNumber);
  app.add_option("--server-threads", server_threads, "server threads")->check(CLI::PositiveNumber);
  app.add_option("--body-bytes", body_bytes, "POST body size (0 = GET)");
  CLI11_PARSE(app, argc, argv);
  concurrency = std::min(concurrency, total);
  // Each in-flight request holds a client and a server socket.
  waflow::perf::raiseFileLimit(2 * concurrency + 64, "--concurrency");

  waflow::test::TestHttpServer server(server_threads);
  boost::asio::io_context ioc;
  auto guard = boost::asio::make_work_guard(ioc);
  HttpClient client(ioc);
  std::thread loop([&] { ioc.run(); });
  const int threads_idle = waflow::test::processThreadCount();

  ClientRequest templ;
  templ.url = server.url("/echo");
  if (body_bytes > 0) {
    templ.method = "POST";
    templ.body.assign(body_bytes, 'x');
    templ.headers = {{"Content-Type", "application/octet-stream"}};
  }

  // Touched only by callbacks, which all run on the single loop thread.
  std::vector<uint32_t> latencies_us;
  latencies_us.reserve(total);
  std::size_t errors = 0;
  std::string first_error;
  std::atomic<std::size_t> issued{0};
  std::promise<void> finished;

  std::function<void(ClientResponse)> on_done = [&](ClientResponse resp) {
    latencies_us.push_back(static_cast<uint32_t>(resp.elapsed.count()));
    if (!resp.ok() || resp.status != 200) {
      if (errors++ == 0) {
        first_error = resp.ok() ? "HTTP " + std::to_string(resp.status) : resp.error_message;
      }
    }
    if (issued.fetch_add(1) < total) {
      client.send(templ, on_done);
    }
    if (latencies_us.size() == total) {
      finished.set_value();
    }
  };

  Clock::time_point start = Clock::now();
  issued.store(concurrency);  // before the first send, so callbacks only ever top up
  for (std::size_t i = 0; i < concurrency; ++i) {
    client.send(templ, on_done);
  }
  auto done = finished.get_future();
  int threads_peak = threads_idle;
  while (done.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
    threads_peak = std::max(threads_peak, waflow::test::processThreadCount());
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  HttpClient::Stats stats = client.stats();
  client.shutdown();
  guard.reset();
  ioc.stop();
  loop.join();

  std::sort(latencies_us.begin(), latencies_us.end());
  std::printf("waflow-bench-http-client: %zu requests, %zu in flight, %s /echo%s on 127.0.0.1\n",
              total, concurrency, templ.method.c_str(),
              body_bytes > 0 ? (" (" + std::to_string(body_bytes) + " B body)").c_str() : "");
  std::printf("  elapsed       %.2f s\n", seconds);
  std::printf("  throughput    %.0f requests/s\n", static_cast<double>(total) / seconds);
  std::printf("  latency       p50 %.2f ms   p99 %.2f ms   max %.2f ms\n",
              percentileMs(latencies_us, 0.50), percentileMs(latencies_us, 0.99),
              percentileMs(latencies_us, 1.0));
  std::printf("  errors        %zu%s%s\n", errors, errors > 0 ? "  first: " : "",
              first_error.c_str());
  std::printf("  connections   %llu opened by the client, %llu accepted by the server\n",
              static_cast<unsigned long long>(stats.connections_opened),
              static_cast<unsigned long long>(server.connectionsAccepted()));
  std::printf(
      "  threads       client: 1 io_context thread; process peak %d (main + client loop "
      "+ %d server)\n",
      threads_peak, server_threads);
  return errors == 0 ? 0 : 1;
}
