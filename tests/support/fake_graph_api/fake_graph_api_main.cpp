// waflow-fake-graph-api: the FakeGraphApi as a stand-alone process, for benchmarks and manual
// runs. Listens on 127.0.0.1, prints "port <N>" on its first line, serves until SIGINT/SIGTERM,
// then prints what it recorded (and, with --sends-file, every send, one per line).
#include "fake_graph_api.h"

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

namespace {

// A JSON string field of a send's body as one TSV cell ("" when absent; tabs and line breaks
// become spaces so a line stays one record).
std::string cell(const nlohmann::json& body, const char* key, const char* inner = nullptr) {
  const nlohmann::json* v = body.is_object() ? &body : nullptr;
  if (v != nullptr && inner != nullptr) {
    auto it = v->find(inner);
    v = it != v->end() && it->is_object() ? &*it : nullptr;
  }
  std::string out;
  if (v != nullptr) {
    auto it = v->find(key);
    if (it != v->end() && it->is_string()) {
      out = it->get<std::string>();
    }
  }
  for (char& c : out) {
    if (c == '\t' || c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fake Meta Graph API (WhatsApp Cloud API) on 127.0.0.1 for tests and benchmarks"};
  waflow::test::FakeGraphApi::Options options;
  waflow::test::FaultRates rates;
  int slow_ms = 200;
  app.add_option("--token", options.access_token, "Bearer token to accept")->capture_default_str();
  app.add_option("--threads", options.threads, "Server threads")->capture_default_str();
  app.add_option("--rate-limited", rates.rate_limited, "Fraction of sends answered 429 + 130429")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--pair-rate-limited", rates.pair_rate_limited,
                 "Fraction of sends answered 429 + 131056")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--server-error", rates.server_error, "Fraction of sends answered 500 + 131000")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--slow", rates.slow, "Fraction of sends answered after --slow-ms")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--slow-ms", slow_ms, "Delay of slow answers")->capture_default_str();
  app.add_option("--no-answer", rates.no_answer, "Fraction of sends never answered")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--retry-after", rates.retry_after_s, "Retry-After seconds on 429s (0 = none)")
      ->capture_default_str();
  app.add_option("--seed", rates.seed, "Seed of the fault draws")->capture_default_str();
  std::string sends_file;
  app.add_option("--sends-file", sends_file,
                 "At exit, write every send to this file, one per line: HTTP status, recipient, "
                 "wamid, biz_opaque_callback_data, text body (tab-separated)");
  CLI11_PARSE(app, argc, argv);
  rates.slow_delay = std::chrono::milliseconds(slow_ms);

  // Block the signals before any thread starts so only sigwait() sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  waflow::test::FakeGraphApi fake(options);
  fake.setFaultRates(rates);
  std::cout << "port " << fake.port() << std::endl;
  std::cout << "base_url " << fake.baseUrl() << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);

  std::size_t ok = 0;
  std::size_t failed = 0;
  std::ofstream out;
  if (!sends_file.empty()) {
    out.open(sends_file);
    if (!out) {
      std::cerr << "waflow-fake-graph-api: cannot write " << sends_file << std::endl;
    }
  }
  for (const auto& send : fake.sends()) {
    (send.status == 200 ? ok : failed) += 1;
    if (out.is_open()) {
      out << send.status << '\t' << send.to << '\t' << send.wamid << '\t'
          << cell(send.body, "biz_opaque_callback_data") << '\t' << cell(send.body, "body", "text")
          << '\n';
    }
  }
  if (out.is_open()) {
    out.close();
  }
  std::cout << "requests " << fake.requestCount() << "\nsends " << ok + failed << "\nsucceeded "
            << ok << "\nfailed " << failed << "\nreads " << fake.reads().size() << "\nuploads "
            << fake.uploads().size() << std::endl;
  return 0;
}
