// waflow-minimal-server: the baseline for HTTP benchmarks. A bare Boost.Beast server in the same
// async pattern as the daemon (listener + session with shared_from_this, one strand per
// connection, multi-threaded io_context) that answers every request with 200 "OK". Benchmarks
// compare the daemon's requests/s against this. It deliberately has no timeouts, limits or
// routing (beast::tcp_stream's per-operation timer alone costs ~40% of throughput), so it is the
// upper bound of what Beast can do here, not a strawman.
//
// Usage: waflow-minimal-server [--port N] [--threads N] [--address A]
// Prints the bound port alone on the first stdout line, then serves until SIGINT/SIGTERM.
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/signal_set.hpp>

#include "plain_http_server.h"

using namespace waflow::bench;  // NOLINT(google-build-using-namespace): a one-file tool

namespace {

class Session : public PlainSession<Session> {
 public:
  using PlainSession::PlainSession;
  void onRequest() { respond("OK"); }
};

[[noreturn]] void usage(const std::string& error) {
  std::cerr << "waflow-minimal-server: " << error << "\n"
            << "usage: waflow-minimal-server [--port N] [--threads N] [--address A]\n";
  std::exit(2);
}

long parseNumber(std::string_view flag, const char* text, long min, long max) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < min || v > max) {
    usage(std::string(flag) + " expects a number between " + std::to_string(min) + " and " +
          std::to_string(max) + ", got '" + text + "'");
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::string address = "127.0.0.1";
  long port = 0;
  long threads = 1;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (i + 1 >= argc) {
      usage("missing value after " + std::string(arg));
    }
    if (arg == "--port") {
      port = parseNumber(arg, argv[++i], 0, 65535);
    } else if (arg == "--threads") {
      threads = parseNumber(arg, argv[++i], 1, 256);
    } else if (arg == "--address") {
      address = argv[++i];
    } else {
      usage("unknown option " + std::string(arg));
    }
  }

  try {
    asio::io_context ioc(static_cast<int>(threads));
    tcp::endpoint endpoint(asio::ip::make_address(address), static_cast<uint16_t>(port));
    auto listener = std::make_shared<PlainListener>(ioc, endpoint, [](tcp::socket&& socket) {
      std::make_shared<Session>(std::move(socket))->run();
    });
    std::cout << listener->port() << std::endl;
    listener->run();

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&ioc](beast::error_code, int) { ioc.stop(); });

    std::vector<std::thread> pool;
    for (long i = 1; i < threads; ++i) {
      pool.emplace_back([&ioc] { ioc.run(); });
    }
    ioc.run();
    for (auto& t : pool) {
      t.join();
    }
  } catch (const std::exception& e) {
    std::cerr << "waflow-minimal-server: cannot serve on " << address << ":" << port << ": "
              << e.what() << "\n";
    return 1;
  }
  return 0;
}
