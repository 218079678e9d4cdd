// waflow-bench-storage: how many inbound messages storage-sqlite stores durably per second
// when many webhooks write at once, through the real plugin loader and host.
//
// Each phase opens a fresh database, then --callers closed-loop callers each keep one
// inbox.put of a realistic ~1 KB message in flight for --seconds. Printed per phase:
// messages/s (answered, so committed and fsynced), commits, the average batch (writes per
// commit: what group commit shares), and p50/p99 latency of one put. Phases:
//   1 caller        one put at a time: the cost of one durable commit
//   no group commit --callers callers with max_batch=1: one commit (and fsync) per put
//   group commit    --callers callers, the default max_batch: the baseline's ratio is the gain
//   + readers       the same while --readers callers loop on contact.get and inbox.pending
//
// --ops outbox measures what the daemon's outbox adds per message, beside the inbox.put figure
// of the same run (group commit, --callers callers):
//   inbox.put                     as above
//   outbox.add(claim) + sent      per message: one outbox.add that claims it at once, then its
//                                 share of an outbox.sent batch (one batch in flight, like the
//                                 daemon's sender)
//   put + add + sent + done       the daemon's whole storage path of a message answered by one
//                                 reply: inbox.put, outbox.add(claim), outbox.sent and inbox.done
//                                 (the last two batched)
// Each caller owns one conversation and waits for its message's last step, so every add can be
// claimed at once. "cpu us/msg" is the whole process's CPU time (plugin, host and this driver)
// per message.
#include "plugin/plugin_catalog.h"
#include "plugin/plugin_instance.h"

#include "bus/event_bus.h"
#include "http_client/http_client.h"
#include "log/log.h"

#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
using waflow::core::plugin::CallOutcome;
using waflow::core::plugin::PluginInstance;

constexpr int kContacts = 5000;

// One inbound text message as inbox.put input: the Cloud API fields a channel keeps in the
// event, about 1 KB in all.
std::string putInput(const std::string& id, int contact_no, int64_t at) {
  std::string contact = "62812" + std::to_string(10000000 + contact_no);
  Json event = {
      {"id", id},
      {"from", contact},
      {"timestamp", at / 1000},
      {"type", "text"},
      {"text",
       {{"body",
         "Halo kak, saya mau tanya soal pesanan saya nomor INV/2024/" + std::to_string(at % 99991) +
             ". Kemarin statusnya sudah dikirim tapi sampai sekarang belum sampai, padahal "
             "estimasinya dua hari. Bisa tolong dicek ke kurirnya? Alamat saya di Jl. Melati "
             "No. 12, RT 03 RW 05, Kelurahan Sukamaju, Kecamatan Cibeunying, Bandung 40191. "
             "Nomor resi JNE 0123456789012. Terima kasih banyak kak 🙏"}}},
      {"contacts",
       {{{"profile", {{"name", "Pelanggan " + std::to_string(contact_no)}}}, {"wa_id", contact}}}},
      {"metadata",
       {{"display_phone_number", "6281100001111"}, {"phone_number_id", "1098765432101234"}}},
      {"context",
       {{"from", "6281100001111"},
        {"id", "wamid.HBgNNjI4MTEwMDAwMTExMRUCABEYEjVGNzQ2QjE5RkE3MDlBRDE4AA=="}}},
      {"channel", "wa-main"},
      {"recipient", "1098765432101234"}};
  Json input = {{"messages",
                 {{{"channel", "wa-main"},
                   {"id", id},
                   {"contact", contact},
                   {"contact_name", "Pelanggan " + std::to_string(contact_no)},
                   // Both identifiers, as the daemon sends them since Meta's user ids.
                   {"phone", contact},
                   {"user_id", "ID." + std::to_string(1349120865530274191 + contact_no)},
                   {"conversation", "wa-main:" + contact},
                   {"type", "text"},
                   {"received_at", at},
                   {"event", std::move(event)}}}}};
  return input.dump();
}

// One outbox message (a short text reply) as an element of outbox.add's "messages".
std::string outboxMessage(const std::string& id, const std::string& contact) {
  return R"({"id":")" + id + R"(","channel":"wa-main","to":")" + contact +
         R"(","conversation":"wa-main:)" + contact +
         R"(","type":"text","text":"Baik kak, pesanannya kami cek ke kurir dulu ya. Mohon ditunggu )"
         R"(sebentar 🙏","reply_to":"","payload":null,"not_before":0})";
}

int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double cpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// CPU seconds used so far by this process's threads named `name` (storage-sqlite names its
// writer thread "sqlite-writer": the one thread every write goes through).
double threadCpuSeconds(const std::string& name) {
  double total = 0;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string thread_name;
    std::getline(comm, thread_name);
    if (thread_name != name) {
      continue;
    }
    std::ifstream stat(task.path() / "stat");
    std::string line;
    std::getline(stat, line);
    // Fields after the ")" that ends the name: state is field 3, utime 14, stime 15.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i >= 14) {
        ticks += std::stod(field);
      }
    }
    total += ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return total;
}

// Gathers single-message operations into one call of `op` with a "messages" array while the
// previous call is in flight, the way the daemon batches outbox.sent and inbox.done.
class Batcher {
 public:
  Batcher(PluginInstance& instance, std::string op, std::function<std::string()> extra)
      : instance_(instance), op_(std::move(op)), extra_(std::move(extra)) {}

  void add(std::string element, std::function<void(bool ok)> done) {
    std::unique_lock lock(mutex_);
    elements_.push_back(std::move(element));
    dones_.push_back(std::move(done));
    if (!in_flight_) {
      in_flight_ = true;
      flush(lock);
    }
  }

 private:
  // Sends what is gathered; called with the lock held and in_flight_ set.
  void flush(std::unique_lock<std::mutex>& lock) {
    std::string input = R"({"messages":[)";
    for (std::size_t i = 0; i < elements_.size(); ++i) {
      input += i == 0 ? "" : ",";
      input += elements_[i];
    }
    input += "]" + extra_() + "}";
    elements_.clear();
    auto dones = std::make_shared<std::vector<std::function<void(bool)>>>(std::move(dones_));
    dones_.clear();
    lock.unlock();
    instance_.execute(op_, input, [this, dones](CallOutcome o) {
      {
        std::unique_lock relock(mutex_);
        if (elements_.empty()) {
          in_flight_ = false;
        } else {
          flush(relock);
        }
      }
      // Last: the final answer may let the phase end and destroy this batcher.
      for (auto& done : *dones) {
        done(o.ok());
      }
    });
  }

  PluginInstance& instance_;
  const std::string op_;
  const std::function<std::string()> extra_;
  std::mutex mutex_;
  bool in_flight_ = false;
  std::vector<std::string> elements_;
  std::vector<std::function<void(bool)>> dones_;
};

// The same message as putInput() builds, the way the daemon sends it: written without a DOM,
// with the event as JSON text inside a string, which the storage stores without parsing.
std::string eventText(const std::string& id, int contact_no, int64_t at) {
  std::string contact = "62812" + std::to_string(10000000 + contact_no);
  std::string name = "Pelanggan " + std::to_string(contact_no);
  std::string event =
      R"({"channel":"wa-main","contacts":[{"profile":{"name":")" + name + R"("},"wa_id":")" +
      contact +
      R"("}],"context":{"from":"6281100001111","id":"wamid.HBgNNjI4MTEwMDAwMTExMRUCABEYEjVGNzQ2QjE5RkE3MDlBRDE4AA=="},"from":")" +
      contact + R"(","id":")" + id +
      R"(","metadata":{"display_phone_number":"6281100001111","phone_number_id":"1098765432101234"},"recipient":"1098765432101234","text":{"body":"Halo kak, saya mau tanya soal pesanan saya nomor INV/2024/)" +
      std::to_string(at % 99991) +
      ". Kemarin statusnya sudah dikirim tapi sampai sekarang belum sampai, padahal estimasinya "
      "dua hari. Bisa tolong dicek ke kurirnya? Alamat saya di Jl. Melati No. 12, RT 03 RW 05, "
      "Kelurahan Sukamaju, Kecamatan Cibeunying, Bandung 40191. Nomor resi JNE 0123456789012. "
      R"(Terima kasih banyak kak 🙏"},"timestamp":)" +
      std::to_string(at / 1000) + R"(,"type":"text"})";
  std::string quoted;
  quoted.reserve(event.size() + 64);
  for (char ch : event) {
    if (ch == '"' || ch == '\\') {
      quoted += '\\';
    }
    quoted += ch;
  }
  return R"({"messages":[{"channel":"wa-main","id":")" + id + R"(","contact":")" + contact +
         R"(","contact_name":")" + name + R"(","conversation":"wa-main:)" + contact +
         R"(","type":"text","received_at":)" + std::to_string(at) + R"(,"event":")" + quoted +
         R"("}]})";
}

struct Options {
  int callers = 1000;
  int readers = 8;
  double seconds = 4.0;
  std::string ops = "inbox";
  std::filesystem::path dir;
};

// What one caller's message goes through.
enum class Steps { kPut, kAddSent, kPutAddSentDone };

struct Phase {
  std::string name;
  int callers;
  int readers;
  Json config;
  Steps steps = Steps::kPut;
  bool event_as_text = false;  // inbox.put's event as a JSON string, as the daemon sends it
};

struct Result {
  uint64_t writes = 0;
  uint64_t errors = 0;
  uint64_t reads = 0;
  double elapsed = 0;
  double cpu = 0;
  double writer_cpu = 0;
  uint64_t commits = 0;
  uint64_t plugin_writes = 0;
  std::vector<double> write_ms;
  std::vector<double> read_ms;
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) {
    return 0;
  }
  auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// The host side: the same loader, io_context, HTTP client and bus the daemon gives plugins.
class Bench {
 public:
  explicit Bench(const Options& options) : options_(options) {
    catalog_.scan(waflow::core::plugin::defaultPluginDirectories());
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
    bus_.start();
  }
  ~Bench() {
    bus_.stop(std::chrono::seconds(5));
    http_.shutdown();
    work_.reset();
    for (auto& t : threads_) {
      t.join();
    }
  }

  bool found() const { return catalog_.find("storage-sqlite") != nullptr; }

  Result run(const Phase& phase, int index) {
    std::filesystem::path file = options_.dir / ("bench-" + std::to_string(index) + ".db");
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(file.string() + suffix);
    }
    Json config = phase.config;
    config["path"] = file.string();
    auto instance = std::make_unique<PluginInstance>(
        catalog_.find("storage-sqlite"), "bench",
        waflow::core::plugin::HostServices{io_, http_, bus_, options_.dir / "data"});
    std::string error;
    if (!instance->create(config.dump(), &error) || !instance->start(&error)) {
      std::fprintf(stderr, "cannot start storage-sqlite: %s\n", error.c_str());
      std::exit(1);
    }
    Json before = stats(*instance);
    Result r = drive(*instance, phase);
    Json after = stats(*instance);
    r.commits = after["commits"].get<uint64_t>() - before["commits"].get<uint64_t>();
    r.plugin_writes = after["writes"].get<uint64_t>() - before["writes"].get<uint64_t>();
    instance->stop(std::chrono::seconds(30));
    instance.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(file.string() + suffix);
    }
    return r;
  }

 private:
  struct Caller {
    int id = 0;
    uint64_t seq = 0;
    std::vector<double> latency_ms;
    uint64_t errors = 0;
  };

  static Json stats(PluginInstance& instance) {
    std::mutex m;
    std::condition_variable cv;
    std::string out;
    bool done = false;
    instance.execute("stats", "{}", [&](CallOutcome o) {
      std::lock_guard lock(m);
      out = o.value;
      done = true;
      cv.notify_all();
    });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return done; });
    return Json::parse(out);
  }

  Result drive(PluginInstance& instance, const Phase& phase) {
    std::vector<Caller> writers(static_cast<std::size_t>(phase.callers));
    std::vector<Caller> readers(static_cast<std::size_t>(phase.readers));
    std::atomic<bool> stop{false};
    std::mutex m;
    std::condition_variable cv;
    int running = phase.callers + phase.readers;
    auto finished = [&] {
      std::lock_guard lock(m);
      if (--running == 0) {
        cv.notify_all();
      }
    };
    int64_t base = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();

    Batcher sent(instance, "outbox.sent", [] { return R"(,"now":)" + std::to_string(wallMs()); });
    Batcher done(instance, "inbox.done", [] { return std::string(); });
    const std::string claim_owner = R"(,"claim":{"owner":"bench","lease_ms":60000,"now":)";

    std::function<void(Caller&)> write = [&](Caller& c) {
      if (stop.load(std::memory_order_relaxed)) {
        finished();
        return;
      }
      std::string id = "wamid.bench." + std::to_string(c.id) + "." + std::to_string(c.seq);
      // With the outbox each caller keeps to its own conversation (one contact).
      int contact_no = phase.steps == Steps::kPut
                           ? (c.id * 7919 + static_cast<int>(c.seq)) % kContacts
                           : c.id % kContacts;
      std::string contact = "62812" + std::to_string(10000000 + contact_no);
      int64_t at = base + static_cast<int64_t>(c.seq);
      ++c.seq;
      auto t0 = Clock::now();
      auto finish = [&, t0](bool ok) {
        c.latency_ms.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        c.errors += ok ? 0 : 1;
        write(c);
      };
      auto mark_done = [&, id, finish](bool ok) {
        if (!ok || phase.steps != Steps::kPutAddSentDone) {
          finish(ok);
          return;
        }
        done.add(R"({"channel":"wa-main","id":")" + id + R"("})", finish);
      };
      auto add_reply = [&, id, contact, finish, mark_done](bool ok) {
        if (!ok) {
          finish(false);
          return;
        }
        std::string reply = "out." + id;
        std::string input = R"({"messages":[)" + outboxMessage(reply, contact) + "]" + claim_owner +
                            std::to_string(wallMs()) + "}}";
        instance.execute("outbox.add", input, [&, reply, finish, mark_done](CallOutcome o) {
          // Claimed at once: the caller's previous reply is sent, so nothing holds it back.
          if (!o.ok() || o.value.find(R"("claimed":[true])") == std::string::npos) {
            finish(false);
            return;
          }
          sent.add(
              R"({"id":")" + reply + R"(","provider_message_id":"wamid.OUT.)" + reply + R"("})",
              mark_done);
        });
      };
      if (phase.steps == Steps::kAddSent) {
        add_reply(true);
        return;
      }
      std::string input = phase.steps == Steps::kPut && !phase.event_as_text
                              ? putInput(id, contact_no, at)
                              : eventText(id, contact_no, at);
      instance.execute("inbox.put", input, [&, finish, add_reply](CallOutcome o) {
        if (phase.steps == Steps::kPut || !o.ok()) {
          finish(o.ok());
          return;
        }
        add_reply(true);
      });
    };
    std::function<void(Caller&)> read = [&](Caller& c) {
      if (stop.load(std::memory_order_relaxed)) {
        finished();
        return;
      }
      ++c.seq;
      std::string input =
          c.seq % 4 == 0
              ? std::string(R"({"limit":10})")
              : Json{{"channel", "wa-main"},
                     {"contact", "62812" + std::to_string(10000000 + (c.seq * 31) % kContacts)}}
                    .dump();
      auto t0 = Clock::now();
      instance.execute(c.seq % 4 == 0 ? "inbox.pending" : "contact.get", input,
                       [&, t0](CallOutcome o) {
                         c.latency_ms.push_back(
                             std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
                         c.errors += o.ok() ? 0 : 1;
                         read(c);
                       });
    };

    auto start = Clock::now();
    double cpu_start = cpuSeconds();
    double writer_start = threadCpuSeconds("sqlite-writer");
    for (std::size_t i = 0; i < writers.size(); ++i) {
      writers[i].id = static_cast<int>(i);
      write(writers[i]);
    }
    for (std::size_t i = 0; i < readers.size(); ++i) {
      readers[i].id = static_cast<int>(i);
      read(readers[i]);
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(options_.seconds));
    stop = true;
    {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return running == 0; });
    }
    Result r;
    r.elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    r.cpu = cpuSeconds() - cpu_start;
    r.writer_cpu = threadCpuSeconds("sqlite-writer") - writer_start;
    for (Caller& c : writers) {
      r.writes += c.latency_ms.size();
      r.errors += c.errors;
      r.write_ms.insert(r.write_ms.end(), c.latency_ms.begin(), c.latency_ms.end());
    }
    for (Caller& c : readers) {
      r.reads += c.latency_ms.size();
      r.errors += c.errors;
      r.read_ms.insert(r.read_ms.end(), c.latency_ms.begin(), c.latency_ms.end());
    }
    return r;
  }

  const Options& options_;
  waflow::core::plugin::PluginCatalog catalog_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::vector<std::thread> threads_;
  waflow::core::HttpClient http_{io_};
  waflow::core::bus::EventBus bus_{waflow::core::bus::EventBus::Options{2, 1024, nullptr}};
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"storage-sqlite: durable inbox.put throughput with group commit"};
  Options options;
  std::string dir;
  app.add_option("--callers", options.callers, "concurrent writers (closed loop)")
      ->check(CLI::PositiveNumber);
  app.add_option("--readers", options.readers, "concurrent readers in the last phase")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seconds", options.seconds, "duration of each phase")
      ->check(CLI::PositiveNumber);
  app.add_option("--dir", dir, "where the database files go (default: the temp directory)");
  app.add_option("--ops", options.ops,
                 "inbox: inbox.put with and without group commit and readers; outbox: "
                 "inbox.put beside outbox.add(claim) + outbox.sent and the whole path")
      ->check(CLI::IsMember({"inbox", "outbox"}));
  CLI11_PARSE(app, argc, argv);
  options.dir = dir.empty() ? std::filesystem::temp_directory_path() /
                                  ("waflow-bench-storage-" + std::to_string(::getpid()))
                            : std::filesystem::path(dir);
  std::filesystem::create_directories(options.dir);
  waflow::core::log::init({"warn", "text", ""});

  Bench bench(options);
  if (!bench.found()) {
    std::fprintf(stderr,
                 "storage-sqlite not found next to this program (../lib/waflow/plugins) or in "
                 "WAFLOW_PLUGIN_PATH; build the storage-sqlite target\n");
    return 1;
  }
  Json full = {{"synchronous", "full"}};
  Json no_group = {{"synchronous", "full"}, {"max_batch", 1}};
  std::vector<Phase> phases;
  if (options.ops == "inbox") {
    phases = {
        {"1 caller", 1, 0, full},
        {"no group commit (max_batch=1)", options.callers, 0, no_group},
        {"group commit", options.callers, 0, full},
        {"group commit + readers", options.callers, options.readers, full},
    };
  } else {
    phases = {
        {"inbox.put", options.callers, 0, full, Steps::kPut, true},
        {"outbox.add(claim) + sent", options.callers, 0, full, Steps::kAddSent},
        {"put + add + sent + done", options.callers, 0, full, Steps::kPutAddSentDone},
    };
  }
  std::printf(
      "storage-sqlite --ops %s, ~%zu-byte messages, synchronous=full, %s, %.0f s per phase\n",
      options.ops.c_str(), putInput("wamid.bench.0.0", 0, 1700000000000).size(),
      options.dir.c_str(), options.seconds);
  std::printf("%-32s %8s %12s %9s %10s %9s %9s %12s %9s %12s %12s\n", "phase", "callers",
              "messages/s", "commits", "avg batch", "p50 ms", "p99 ms", "reads/s", "read p99",
              "cpu us/msg", "writer us/msg");
  for (std::size_t i = 0; i < phases.size(); ++i) {
    const Phase& p = phases[i];
    Result r = bench.run(p, static_cast<int>(i));
    double batch = r.commits == 0 ? 0 : static_cast<double>(r.plugin_writes) / r.commits;
    char reads[32] = "-";
    char read_p99[32] = "-";
    if (p.readers > 0) {
      std::snprintf(reads, sizeof(reads), "%.0f", r.reads / r.elapsed);
      std::snprintf(read_p99, sizeof(read_p99), "%.2f", percentile(r.read_ms, 0.99));
    }
    double n = r.writes == 0 ? 1 : static_cast<double>(r.writes);
    std::printf("%-32s %8d %12.0f %9llu %10.1f %9.2f %9.2f %12s %9s %12.1f %12.1f\n",
                p.name.c_str(), p.callers, r.writes / r.elapsed,
                static_cast<unsigned long long>(r.commits), batch, percentile(r.write_ms, 0.50),
                percentile(r.write_ms, 0.99), reads, read_p99, r.cpu * 1e6 / n,
                r.writer_cpu * 1e6 / n);
    if (r.errors > 0) {
      std::printf("  %llu operations failed\n", static_cast<unsigned long long>(r.errors));
    }
    std::fflush(stdout);
  }
  if (dir.empty()) {
    std::filesystem::remove_all(options.dir);
  }
  return 0;
}
