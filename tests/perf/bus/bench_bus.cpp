// waflow-bench-bus: publishes --events events round-robin over --conversations conversations
// from --publishers threads and reports end-to-end events/s with a trivial handler that also
// checks per-conversation ordering.
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "bus/event_bus.h"

namespace {

using waflow::core::bus::Event;
using waflow::core::bus::EventBus;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Event bus throughput: events/s across many ordered conversations"};
  std::size_t events = 2'000'000;
  std::size_t conversations = 10'000;
  std::size_t workers = 0;
  std::size_t publishers = 1;
  std::size_t capacity = 65536;
  app.add_option("--events", events, "events to publish")->check(CLI::PositiveNumber);
  app.add_option("--conversations", conversations, "distinct conversation keys")
      ->check(CLI::PositiveNumber);
  app.add_option("--workers", workers, "bus worker threads (0 = hardware concurrency)");
  app.add_option("--publishers", publishers, "publishing threads")->check(CLI::PositiveNumber);
  app.add_option("--capacity", capacity, "bus queue capacity")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  // Per-conversation sequence bookkeeping needs no atomics: the bus runs one event of a
  // conversation at a time, and its lock orders successive handlers.
  std::vector<uint64_t> next_seq(conversations, 0);
  std::atomic<uint64_t> violations{0};
  std::atomic<uint64_t> handled{0};

  EventBus bus({.workers = workers, .capacity = capacity});
  bus.subscribe(
      "bench.event",
      [&](const Event& event) {
        // payload: "<conversation index>,<sequence within conversation>"
        const char* begin = event.payload.data();
        const char* end = begin + event.payload.size();
        std::size_t index = 0;
        uint64_t seq = 0;
        auto parsed = std::from_chars(begin, end, index);
        std::from_chars(parsed.ptr + 1, end, seq);
        if (seq != next_seq[index]) {
          violations.fetch_add(1, std::memory_order_relaxed);
        }
        next_seq[index] = seq + 1;
        handled.fetch_add(1, std::memory_order_relaxed);
      },
      "bench");
  bus.start();

  // Pre-build keys so the timed loop measures the bus, not string formatting of keys.
  std::vector<std::string> keys(conversations);
  for (std::size_t c = 0; c < conversations; ++c) {
    keys[c] = "bench-channel:62812" + std::to_string(1000000 + c);
  }

  std::atomic<uint64_t> rejected{0};
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (std::size_t p = 0; p < publishers; ++p) {
    threads.emplace_back([&, p] {
      // Publisher p owns conversations c with c % publishers == p, so each conversation's
      // publish order is well defined.
      std::vector<uint64_t> seq(conversations, 0);
      const std::size_t share = events / publishers + (p < events % publishers ? 1 : 0);
      std::size_t c = p;
      for (std::size_t i = 0; i < share; ++i) {
        Event event;
        event.type = "bench.event";
        event.conversation = keys[c];
        event.payload = std::to_string(c) + "," + std::to_string(seq[c]++);
        if (bus.publish(std::move(event), std::chrono::seconds(30)) !=
            EventBus::PublishResult::kAccepted) {
          rejected.fetch_add(1);
          --seq[c];
        }
        c += publishers;
        if (c >= conversations) {
          c = p % conversations;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  const uint64_t expected = events - rejected.load();
  while (handled.load(std::memory_order_relaxed) < expected) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  bus.stop(std::chrono::seconds(5));

  uint64_t total_seq = 0;
  for (const uint64_t n : next_seq) {
    total_seq += n;
  }
  const bool ordered = violations.load() == 0 && total_seq == expected;
  const std::size_t worker_count = workers != 0 ? workers : std::thread::hardware_concurrency();
  std::printf("events:        %zu\n", events);
  std::printf("conversations: %zu\n", conversations);
  std::printf("workers:       %zu\n", worker_count);
  std::printf("publishers:    %zu\n", publishers);
  std::printf("elapsed:       %.3f s\n", seconds);
  std::printf("throughput:    %.0f events/s\n", static_cast<double>(expected) / seconds);
  std::printf("rejected:      %llu\n", static_cast<unsigned long long>(rejected.load()));
  std::printf("ordering:      %s (%llu violations)\n", ordered ? "OK" : "FAILED",
              static_cast<unsigned long long>(violations.load()));
  return ordered && rejected.load() == 0 ? 0 : 1;
}
