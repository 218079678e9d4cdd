// waflow-bench-ai: what answering with AI costs the daemon, and how many AI calls it keeps in
// flight. The Release daemon runs with the sandbox channel and storage-sqlite (durable inbox
// and outbox, rate limit off); an OpenAI-compatible fake (FakeAi, tests/support/fake_ai) runs
// in this process and answers "Echo: <message>" after a set latency. Each run starts a fresh
// daemon on a fresh data_dir, posts one Cloud API webhook per message, every message from a
// distinct contact, as fast as the daemon takes them, and waits until every message has its
// reply in the sandbox (the outbox's sent counter, from /metrics). Runs:
//
//   echo         flows off, auto_reply mode echo: no AI. The baseline.
//   auto-ai      flows off, auto_reply mode ai (ai-openai -> the fake, latency 0)
//   flow-ai      flows on: tests/perf/ai/flows/ai_answer.yaml, one `ai` step (latency 0)
//   flow-ai-slow the same flow while the fake takes --latency-ms (1000) to answer: with every
//                call in parallel the last reply is due one latency after the last POST; the
//                seconds beyond that are waflow's
//   flow-ai-hold the same with --hold-ms (5000), so every message is posted while the first
//                calls still wait: all of them in flight at once (the capacity and its RSS)
//
// Printed per run: webhooks/s posted, seconds until every reply was sent, replies/s over that
// span and "sustained" (between the 10th and 90th percentile reply), peak concurrent AI calls
// (at the fake: requests received and not yet answered; at the daemon: its HTTP client's
// in-flight gauge), the daemon's RSS at start and peak (VmHWM), and its CPU µs per reply
// (utime+stime from /proc). Then the AI path's own cost against the echo baseline and the
// targets of issue 5. Figures only, never asserted.
//
//   waflow-bench-ai [--messages 20000] [--latency-messages 6000] [--latency-ms 1000] ...
//   (--help lists every option)
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fake_ai.h"
#include "proc_stats.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using waflow::perf::cpuMicros;
using waflow::perf::loadAverage;
using waflow::perf::readFile;
using waflow::perf::statusField;
using waflow::test::FakeAi;

#ifndef WAFLOW_BENCH_AI_FLOWS_DIR
#define WAFLOW_BENCH_AI_FLOWS_DIR "flows"
#endif

constexpr const char* kApiKey = "sk-bench";

// What customers of a cake shop write; the fake echoes it, the echo baseline repeats it, so
// both send replies of about the same size.
const std::vector<std::string> kTexts = {
    "Halo kak, kue ulang tahun coklat untuk 20 orang harganya berapa?",
    "Bisa kirim ke Cimahi hari Sabtu pagi?",
    "Kak, bolu pandan masih ada? Mau ambil sore ini",
    "Permisi, bisa tulis nama di atas kuenya? Untuk anak saya, Rara",
    "Kalau pesan 3 loyang black forest ada diskon tidak?",
};

double secondsSince(Clock::time_point t0, Clock::time_point t) {
  return std::chrono::duration<double>(t - t0).count();
}

int64_t selfCpuMicros() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000000LL + u.ru_utime.tv_usec +
         u.ru_stime.tv_usec;
}

size_t appendTo(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One keep-alive connection that reads the daemon's /metrics and sums series by name.
class MetricsReader {
 public:
  explicit MetricsReader(const std::string& url) : curl_(curl_easy_init()) {
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &appendTo);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &body_);
  }
  ~MetricsReader() { curl_easy_cleanup(curl_); }
  MetricsReader(const MetricsReader&) = delete;
  MetricsReader& operator=(const MetricsReader&) = delete;

  // Series name -> sum over its labels; empty when the daemon did not answer.
  std::map<std::string, double> read() {
    body_.clear();
    std::map<std::string, double> sums;
    if (curl_easy_perform(curl_) != CURLE_OK) {
      return sums;
    }
    std::istringstream in(body_);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') {
        continue;
      }
      auto name_end = line.find_first_of("{ ");
      auto value_start = line.rfind(' ');
      if (name_end == std::string::npos || value_start == std::string::npos) {
        continue;
      }
      sums[line.substr(0, name_end)] += std::strtod(line.c_str() + value_start + 1, nullptr);
    }
    return sums;
  }

 private:
  CURL* curl_;
  std::string body_;
};

double metric(const std::map<std::string, double>& m, const std::string& name) {
  auto it = m.find(name);
  return it == m.end() ? 0 : it->second;
}

// `waflow run -c <config>` as a child process in its own directory, logging to daemon.log.
class Daemon {
 public:
  Daemon(fs::path binary, fs::path dir, const std::string& config_yaml)
      : binary_(std::move(binary)), dir_(std::move(dir)) {
    fs::create_directories(dir_);
    std::ofstream(dir_ / "waflow.yaml") << config_yaml;
  }
  ~Daemon() { stop(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Starts the daemon and waits for its startup line; throws with the log when it exits.
  void start() {
    const fs::path log = dir_ / "daemon.log";
    const std::string config = (dir_ / "waflow.yaml").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the benchmark
      if (::chdir(dir_.c_str()) != 0) {
        ::_exit(126);
      }
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, STDERR_FILENO);
      ::dup2(fd, STDOUT_FILENO);
      int null_fd = ::open("/dev/null", O_RDONLY);
      ::dup2(null_fd, STDIN_FILENO);
      std::vector<std::string> args = {binary_.string(), "run", "-c", config};
      std::vector<char*> argv;
      for (auto& a : args) {
        argv.push_back(a.data());
      }
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    static const std::regex kListening(R"(listening on http://[^ ]*:(\d+))");
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < deadline) {
      std::smatch m;
      std::string text = readFile(log);
      if (std::regex_search(text, m, kListening)) {
        port_ = std::stoi(m[1]);
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
          throw std::runtime_error("could not run " + binary_.string());
        }
        throw std::runtime_error("waflow exited at start; its log (" + log.string() + "):\n" +
                                 text);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("waflow did not report its port within 60 s; see " + log.string());
  }

  // SIGTERM, then SIGKILL after 20 s.
  void stop() {
    if (pid_ <= 0) {
      return;
    }
    ::kill(pid_, SIGTERM);
    int status = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
  }

  pid_t pid() const { return pid_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string log() const { return readFile(dir_ / "daemon.log"); }

 private:
  fs::path binary_;
  fs::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// A Cloud API webhook with `batch` text messages, each from its own contact.
std::string webhookBody(std::size_t first, std::size_t batch, const std::string& tag) {
  const std::string now = std::to_string(std::time(nullptr));
  std::string contacts;
  std::string messages;
  for (std::size_t i = first; i < first + batch; ++i) {
    const std::string wa_id = std::to_string(6281300000000ULL + i);
    if (i != first) {
      contacts += ',';
      messages += ',';
    }
    contacts += R"({"profile":{"name":"Pelanggan )" + std::to_string(i) + R"("},"wa_id":")" +
                wa_id + R"("})";
    messages += R"({"from":")" + wa_id + R"(","id":"wamid.aibench.)" + tag + "." +
                std::to_string(i) + R"(","timestamp":")" + now +
                R"(","type":"text","text":{"body":")" + kTexts[i % kTexts.size()] + R"("}})";
  }
  return R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[)"
         R"({"field":"messages","value":{"messaging_product":"whatsapp","metadata":)"
         R"({"display_phone_number":"15550783881","phone_number_id":"106540352242922"},)"
         R"("contacts":[)" +
         contacts + R"(],"messages":[)" + messages + "]}}]}]}";
}

struct InjectResult {
  double seconds = 0;  // from the first POST to the last answer
  std::size_t ok = 0;
  std::size_t failed = 0;
  std::string first_error;
};

// POSTs every body to `url`, `connections` at a time over keep-alive connections (curl multi).
InjectResult inject(const std::string& url, const std::vector<std::string>& bodies,
                    std::size_t connections) {
  InjectResult result;
  struct Slot {
    CURL* easy = nullptr;
    std::string response;
  };
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(connections));
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  std::vector<Slot> slots(std::min(connections, bodies.size()));
  std::size_t next = 0;
  std::size_t active = 0;
  auto startOn = [&](Slot& slot) {
    const std::string& body = bodies[next++];
    slot.response.clear();
    curl_easy_setopt(slot.easy, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(slot.easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_multi_add_handle(multi, slot.easy);
    ++active;
  };
  const auto t0 = Clock::now();
  for (Slot& slot : slots) {
    slot.easy = curl_easy_init();
    curl_easy_setopt(slot.easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(slot.easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(slot.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(slot.easy, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(slot.easy, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(slot.easy, CURLOPT_WRITEFUNCTION, &appendTo);
    curl_easy_setopt(slot.easy, CURLOPT_WRITEDATA, &slot.response);
    curl_easy_setopt(slot.easy, CURLOPT_PRIVATE, &slot);
    startOn(slot);
  }
  while (active > 0) {
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) {
        continue;
      }
      Slot* slot = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &slot);
      long status = 0;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
      if (msg->data.result == CURLE_OK && status == 200) {
        ++result.ok;
      } else {
        if (result.failed++ == 0) {
          result.first_error = msg->data.result != CURLE_OK
                                   ? curl_easy_strerror(msg->data.result)
                                   : "HTTP " + std::to_string(status) + ": " + slot->response;
        }
      }
      curl_multi_remove_handle(multi, msg->easy_handle);
      --active;
      if (next < bodies.size()) {
        startOn(*slot);
      }
    }
    if (active > 0) {
      curl_multi_poll(multi, nullptr, 0, 100, nullptr);
    }
  }
  result.seconds = secondsSince(t0, Clock::now());
  for (Slot& slot : slots) {
    curl_easy_cleanup(slot.easy);
  }
  curl_slist_free_all(headers);
  curl_multi_cleanup(multi);
  return result;
}

enum class Mode { kEcho, kAutoAi, kFlowAi };

struct RunSpec {
  std::string label;
  Mode mode = Mode::kEcho;
  int latency_ms = 0;
  std::size_t messages = 0;
};

struct Settings {
  fs::path waflow;
  fs::path flows_dir;
  fs::path work_dir;
  std::size_t connections = 64;
  std::size_t batch = 1;
  int server_threads = 2;
  int sample_ms = 25;
  int timeout_s = 300;
  bool keep = false;
};

std::string configYaml(const Settings& s, const RunSpec& run, const std::string& base_url) {
  std::string yaml = "server: { listen: 127.0.0.1:0, threads: " + std::to_string(s.server_threads) +
                     " }\n"
                     "log: { level: warn }\n"
                     "data_dir: data\n"
                     "channels:\n"
                     "  sandbox: { plugin: channel-sandbox, config: { mailbox_limit: 1 } }\n"
                     "ai:\n"
                     "  bot:\n"
                     "    plugin: ai-openai\n"
                     "    config: { base_url: \"" +
                     base_url + "\", api_key: " + kApiKey +
                     ", model: gpt-4o-mini, max_retries: 0 }\n"
                     "flows_dir: " +
                     s.flows_dir.string() + "\n";
  switch (run.mode) {
    case Mode::kEcho:
      yaml += "flows: { enabled: false }\nauto_reply: { mode: echo }\n";
      break;
    case Mode::kAutoAi:
      yaml +=
          "flows: { enabled: false }\n"
          "auto_reply:\n"
          "  mode: ai\n"
          "  ai: bot\n"
          "  system_prompt: \"Kamu asisten Toko Kue Bu Sari. Jawab singkat dan ramah.\"\n";
      break;
    case Mode::kFlowAi:
      yaml += "flows: { enabled: true, watch: false }\nauto_reply: { mode: echo }\n";
      break;
  }
  // No rate limit or per-recipient pacing: the benchmark measures the daemon, not Meta's limits.
  yaml += "outbox: { rate_limit: 0, recipient_burst: 0 }\n";
  return yaml;
}

struct Sample {
  double t = 0;              // seconds since the first POST
  uint64_t ai_requests = 0;  // received by the fake since the run started
};

// One /metrics read during a run.
struct MetricsSample {
  double t = 0;
  uint64_t received = 0;
  uint64_t replies = 0;
  uint64_t daemon_in_flight = 0;
  uint64_t ai_requests = 0;
  int64_t rss_kb = 0;
};

struct RunResult {
  RunSpec spec;
  InjectResult injected;
  double all_replies_s = 0;
  double sustained_rate = 0;
  uint64_t replies = 0;
  uint64_t failures = 0;  // outbox failed + auto-replies failed + flow steps failed
  uint64_t received = 0;
  uint64_t ai_requests = 0;
  uint64_t peak_in_flight_fake = 0;
  uint64_t peak_in_flight_daemon = 0;
  int64_t idle_rss_kb = 0;
  int64_t peak_rss_kb = 0;
  int64_t cpu_us = 0;
  int64_t driver_cpu_us = 0;
  bool timed_out = false;
};

// Requests the fake had received at time t, interpolated between samples.
double requestsAt(const std::vector<Sample>& samples, double t) {
  if (samples.empty() || t <= samples.front().t) {
    return 0;
  }
  auto it = std::lower_bound(samples.begin(), samples.end(), t,
                             [](const Sample& s, double v) { return s.t < v; });
  if (it == samples.end()) {
    return static_cast<double>(samples.back().ai_requests);
  }
  const Sample& hi = *it;
  const Sample& lo = *(it - 1);
  double f = hi.t > lo.t ? (t - lo.t) / (hi.t - lo.t) : 1;
  return static_cast<double>(lo.ai_requests) +
         f * static_cast<double>(hi.ai_requests - lo.ai_requests);
}

// The fake answers each request exactly `latency` after it arrived, so the calls in flight at
// time t are those received in (t - latency, t].
uint64_t peakInFlight(const std::vector<Sample>& samples, double latency_s) {
  double peak = 0;
  for (const Sample& s : samples) {
    double answered = s.t >= latency_s ? requestsAt(samples, s.t - latency_s) : 0;
    peak = std::max(peak, static_cast<double>(s.ai_requests) - answered);
  }
  return static_cast<uint64_t>(std::llround(peak));
}

RunResult measure(const Settings& s, const RunSpec& spec, FakeAi& fake, int round) {
  RunResult r;
  r.spec = spec;
  fake.setLatency(std::chrono::milliseconds(spec.latency_ms));
  fake.clearRecords();
  const fs::path dir = s.work_dir / (spec.label + "." + std::to_string(round));
  fs::remove_all(dir);
  Daemon daemon(s.waflow, dir, configYaml(s, spec, fake.baseUrl()));
  daemon.start();
  MetricsReader metrics(daemon.url("/metrics"));
  // The daemon answers /metrics once its plugins are up; give it a moment to settle.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  r.idle_rss_kb = statusField(daemon.pid(), "VmRSS");

  std::vector<std::string> bodies;
  const std::string tag = spec.label + "." + std::to_string(round);
  for (std::size_t i = 0; i < spec.messages; i += s.batch) {
    bodies.push_back(webhookBody(i, std::min(s.batch, spec.messages - i), tag));
  }

  const uint64_t ai0 = fake.requestCount();
  const int64_t cpu0 = cpuMicros(daemon.pid());
  const int64_t driver_cpu0 = selfCpuMicros();
  const auto t0 = Clock::now();
  std::atomic<bool> injected{false};
  std::thread injector([&] {
    r.injected = inject(daemon.url("/webhooks/sandbox"), bodies, s.connections);
    injected = true;
  });

  std::vector<Sample> samples;
  std::vector<MetricsSample> timeline;
  const auto deadline = t0 + std::chrono::seconds(s.timeout_s);
  auto next_metrics = t0;
  Clock::time_point done_at{};
  for (;;) {
    const auto now = Clock::now();
    samples.push_back({secondsSince(t0, now), fake.requestCount() - ai0});
    if (now >= next_metrics) {
      next_metrics = now + std::chrono::milliseconds(s.sample_ms);
      auto m = metrics.read();
      if (!m.empty()) {
        r.replies = static_cast<uint64_t>(metric(m, "waflow_outbox_sent_total"));
        r.failures = static_cast<uint64_t>(metric(m, "waflow_outbox_failed_total") +
                                           metric(m, "waflow_replies_failed_total") +
                                           metric(m, "waflow_flow_step_failures_total"));
        r.received = static_cast<uint64_t>(metric(m, "waflow_messages_received_total"));
        const auto in_flight = static_cast<uint64_t>(metric(m, "waflow_http_client_in_flight"));
        timeline.push_back({secondsSince(t0, now), r.received, r.replies, in_flight,
                            samples.back().ai_requests, statusField(daemon.pid(), "VmRSS")});
        // Bounded memory in this process: the fake keeps every request it received.
        fake.clearRecords();
        if (injected && r.replies + r.failures >= spec.messages) {
          done_at = now;
          break;
        }
      }
    }
    if (now > deadline) {
      r.timed_out = true;
      done_at = now;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.cpu_us = cpuMicros(daemon.pid()) - cpu0;
  r.driver_cpu_us = selfCpuMicros() - driver_cpu0;
  r.peak_rss_kb = statusField(daemon.pid(), "VmHWM");
  r.all_replies_s = secondsSince(t0, done_at);
  r.ai_requests = fake.requestCount() - ai0;
  injector.join();
  if (spec.latency_ms > 0) {
    r.peak_in_flight_fake = peakInFlight(samples, spec.latency_ms / 1000.0);
  } else {
    r.peak_in_flight_fake = 0;  // answered at once: the daemon's gauge tells more
  }
  // Sustained rate: replies between the 10th and the 90th percentile, over the time between.
  auto timeOf = [&](double fraction) {
    const double target = fraction * static_cast<double>(spec.messages);
    for (std::size_t i = 0; i < timeline.size(); ++i) {
      if (static_cast<double>(timeline[i].replies) >= target) {
        if (i == 0) {
          return timeline[i].t;
        }
        const MetricsSample& lo = timeline[i - 1];
        const MetricsSample& hi = timeline[i];
        double f = (target - static_cast<double>(lo.replies)) /
                   static_cast<double>(hi.replies - lo.replies);
        return lo.t + f * (hi.t - lo.t);
      }
    }
    return r.all_replies_s;
  };
  const double t10 = timeOf(0.1);
  const double t90 = timeOf(0.9);
  r.sustained_rate = t90 > t10 ? 0.8 * static_cast<double>(spec.messages) / (t90 - t10) : 0;
  for (const MetricsSample& m : timeline) {
    r.peak_in_flight_daemon = std::max(r.peak_in_flight_daemon, m.daemon_in_flight);
  }
  if (s.keep) {
    // The run's timeline, for plotting or for finding where time went.
    std::ofstream csv(dir / "timeline.csv");
    csv << "seconds,messages_stored,replies_sent,daemon_http_in_flight,ai_requests_received,"
           "rss_kb\n";
    for (const MetricsSample& m : timeline) {
      csv << m.t << ',' << m.received << ',' << m.replies << ',' << m.daemon_in_flight << ','
          << m.ai_requests << ',' << m.rss_kb << '\n';
    }
  }
  if (r.injected.failed > 0) {
    std::fprintf(stderr, "%s: %zu webhooks failed, first: %s\n", spec.label.c_str(),
                 r.injected.failed, r.injected.first_error.c_str());
  }
  if (r.timed_out) {
    std::fprintf(stderr, "%s: only %llu of %zu replies after %d s; daemon log:\n%s\n",
                 spec.label.c_str(), static_cast<unsigned long long>(r.replies), spec.messages,
                 s.timeout_s, daemon.log().substr(0, 4000).c_str());
  }
  daemon.stop();
  if (!s.keep) {
    fs::remove_all(dir);
  }
  return r;
}

double perReply(int64_t cpu_us, uint64_t replies) {
  return replies > 0 ? static_cast<double>(cpu_us) / static_cast<double>(replies) : 0;
}

double mb(int64_t kb) {
  return static_cast<double>(kb) / 1024.0;
}

void printTable(const std::vector<RunResult>& results) {
  std::printf("%-12s %7s %6s %9s %7s %9s %10s %15s %8s %8s %11s %11s %8s\n", "run", "latency",
              "msgs", "posted/s", "all (s)", "replies/s", "sustained", "in-flight f/d", "RSS MB",
              "peak MB", "CPU µs/rep", "cores used", "failed");
  for (const RunResult& r : results) {
    std::printf(
        "%-12s %5dms %6zu %9.0f %7.2f %9.0f %10.0f %7llu/%-7llu %8.1f %8.1f %11.1f %11.2f "
        "%8llu\n",
        r.spec.label.c_str(), r.spec.latency_ms, r.spec.messages,
        r.injected.seconds > 0 ? static_cast<double>(r.spec.messages) / r.injected.seconds : 0,
        r.all_replies_s, r.all_replies_s > 0 ? static_cast<double>(r.replies) / r.all_replies_s : 0,
        r.sustained_rate, static_cast<unsigned long long>(r.peak_in_flight_fake),
        static_cast<unsigned long long>(r.peak_in_flight_daemon), mb(r.idle_rss_kb),
        mb(r.peak_rss_kb), perReply(r.cpu_us, r.replies),
        r.all_replies_s > 0 ? static_cast<double>(r.cpu_us) / (r.all_replies_s * 1e6) : 0,
        static_cast<unsigned long long>(r.failures));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  std::size_t messages = 20000;
  std::size_t latency_messages = 6000;
  int latency_ms = 1000;
  int fake_threads = 2;
  int rounds = 1;
  std::string waflow;
  std::string flows_dir = WAFLOW_BENCH_AI_FLOWS_DIR;
  CLI::App app{"AI path benchmark: the daemon answering through ai-openai and a fake model"};
  app.add_option("--messages", messages, "messages per run at latency 0 (and for echo)")
      ->check(CLI::PositiveNumber);
  app.add_option("--latency-messages", latency_messages,
                 "messages of the run with the slow model (all distinct contacts)")
      ->check(CLI::PositiveNumber);
  int hold_ms = 5000;
  app.add_option("--hold-ms", hold_ms,
                 "answer time of the model in flow-ai-hold: long enough for every message to be "
                 "posted while the first calls still wait")
      ->check(CLI::PositiveNumber);
  app.add_option("--latency-ms", latency_ms, "the slow model's answer time")
      ->check(CLI::PositiveNumber);
  app.add_option("--connections", s.connections, "webhook POSTs in flight")
      ->check(CLI::PositiveNumber);
  app.add_option("--batch", s.batch, "messages per webhook (Meta sends up to a few)")
      ->check(CLI::PositiveNumber);
  app.add_option("--server-threads", s.server_threads, "the daemon's I/O threads")
      ->check(CLI::PositiveNumber);
  app.add_option("--fake-threads", fake_threads, "the fake model's threads")
      ->check(CLI::PositiveNumber);
  app.add_option("--rounds", rounds, "times each run is repeated")->check(CLI::PositiveNumber);
  app.add_option("--sample-ms", s.sample_ms, "interval of /metrics reads")
      ->check(CLI::PositiveNumber);
  app.add_option("--timeout", s.timeout_s, "seconds a run may take")->check(CLI::PositiveNumber);
  app.add_option("--waflow", waflow, "the waflow binary (default: next to this program)");
  app.add_option("--flows-dir", flows_dir, "folder with the benchmark's flow");
  app.add_flag("--keep", s.keep, "keep each run's directory (config, log, database, timeline.csv)");
  std::vector<std::string> only;
  app.add_option("--runs", only, "only these runs: echo, auto-ai, flow-ai, flow-ai-slow")
      ->delimiter(',')
      ->check(CLI::IsMember({"echo", "auto-ai", "flow-ai", "flow-ai-slow", "flow-ai-hold"}));
  CLI11_PARSE(app, argc, argv);

  s.waflow = waflow.empty() ? fs::canonical("/proc/self/exe").parent_path() / "waflow"
                            : fs::absolute(waflow);
  s.flows_dir = fs::absolute(flows_dir);
  if (!fs::exists(s.waflow)) {
    std::fprintf(stderr, "error: %s does not exist; build the target waflow or pass --waflow\n",
                 s.waflow.c_str());
    return 2;
  }
  if (!fs::exists(s.flows_dir / "ai_answer.yaml")) {
    std::fprintf(stderr, "error: %s/ai_answer.yaml does not exist; pass --flows-dir\n",
                 s.flows_dir.c_str());
    return 2;
  }
  waflow::perf::raiseFileLimit(latency_messages + s.connections + 256, "--latency-messages");
  curl_global_init(CURL_GLOBAL_DEFAULT);
  s.work_dir = fs::temp_directory_path() / ("waflow-bench-ai." + std::to_string(::getpid()));
  fs::create_directories(s.work_dir);

  FakeAi fake(FakeAi::Options{.api_key = kApiKey, .path_prefix = "/v1", .threads = fake_threads});
  std::vector<RunSpec> specs = {
      {"echo", Mode::kEcho, 0, messages},
      {"auto-ai", Mode::kAutoAi, 0, messages},
      {"flow-ai", Mode::kFlowAi, 0, messages},
      {"flow-ai-slow", Mode::kFlowAi, latency_ms, latency_messages},
      {"flow-ai-hold", Mode::kFlowAi, hold_ms, latency_messages},
  };
  if (!only.empty()) {
    std::erase_if(specs, [&](const RunSpec& spec) {
      return std::find(only.begin(), only.end(), spec.label) == only.end();
    });
  }

  std::printf("== AI benchmark: sandbox channel, storage-sqlite, ai-openai -> fake model ==\n");
  std::printf(
      "machine: %u cores shared by the daemon and this program (fake model + webhook sender), "
      "load average %s\ndaemon %s, %d I/O threads; %zu POSTs in flight, %zu message(s) per "
      "webhook, every\nmessage from its own contact\n\n",
      std::thread::hardware_concurrency(), loadAverage().c_str(), s.waflow.c_str(),
      s.server_threads, s.connections, s.batch);
  std::fflush(stdout);

  std::vector<RunResult> results;
  try {
    for (int round = 1; round <= rounds; ++round) {
      for (const RunSpec& spec : specs) {
        results.push_back(measure(s, spec, fake, round));
        std::fprintf(stderr, "  %s#%d done in %.1f s\n", spec.label.c_str(), round,
                     results.back().all_replies_s);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench-ai: %s\n", e.what());
    if (!s.keep) {
      fs::remove_all(s.work_dir);
    }
    return 1;
  }
  printTable(results);

  std::printf("\nchecks:\n");
  for (const RunResult& r : results) {
    std::printf(
        "  %s: webhooks ok=%zu failed=%zu; messages stored=%llu; AI requests at the fake=%llu; "
        "replies=%llu failed=%llu%s; this program's CPU (fake + sender) %.1f µs/reply\n",
        r.spec.label.c_str(), r.injected.ok, r.injected.failed,
        static_cast<unsigned long long>(r.received), static_cast<unsigned long long>(r.ai_requests),
        static_cast<unsigned long long>(r.replies), static_cast<unsigned long long>(r.failures),
        r.timed_out ? " TIMED OUT" : "", perReply(r.driver_cpu_us, r.replies));
  }

  // Totals per run label over the rounds.
  std::map<std::string, RunResult> total;
  for (const RunResult& r : results) {
    RunResult& t = total[r.spec.label];
    t.spec = r.spec;
    t.cpu_us += r.cpu_us;
    t.replies += r.replies;
    t.all_replies_s += r.all_replies_s;
    t.injected.seconds += r.injected.seconds;
    t.peak_in_flight_fake = std::max(t.peak_in_flight_fake, r.peak_in_flight_fake);
    t.peak_in_flight_daemon = std::max(t.peak_in_flight_daemon, r.peak_in_flight_daemon);
    t.peak_rss_kb = std::max(t.peak_rss_kb, r.peak_rss_kb);
    t.idle_rss_kb = std::max(t.idle_rss_kb, r.idle_rss_kb);
    t.sustained_rate += r.sustained_rate / rounds;
  }
  auto rate = [](const RunResult& t) {
    return t.all_replies_s > 0 ? static_cast<double>(t.replies) / t.all_replies_s : 0;
  };
  if (total.count("echo") != 0) {
    const RunResult& echo = total["echo"];
    const double echo_cpu = perReply(echo.cpu_us, echo.replies);
    std::printf(
        "\nthe AI path's own cost, against the echo baseline (%.1f CPU µs/reply, %.0f "
        "replies/s):\n",
        echo_cpu, rate(echo));
    for (const char* label : {"auto-ai", "flow-ai"}) {
      if (total.count(label) == 0) {
        continue;
      }
      const RunResult& t = total[label];
      std::printf("  %-8s %+.1f CPU µs/reply (%.1f), %.0f replies/s = %.0f %% of echo's\n", label,
                  perReply(t.cpu_us, t.replies) - echo_cpu, perReply(t.cpu_us, t.replies), rate(t),
                  rate(echo) > 0 ? 100 * rate(t) / rate(echo) : 0);
    }
  }
  if (total.count("flow-ai-slow") != 0) {
    const RunResult& slow = total["flow-ai-slow"];
    const double posting = slow.injected.seconds / rounds;
    const double all = slow.all_replies_s / rounds;
    const double model = latency_ms / 1000.0;
    std::printf(
        "\nmodel answering after %d ms (flow-ai-slow, %zu messages): posting took %.2f s; every\n"
        "  reply was out %.2f s after the first POST = posting + the model's %.2f s + %.2f s "
        "more;\n  sustained %.0f replies/s",
        latency_ms, latency_messages, posting, all, model, all - posting - model,
        slow.sustained_rate);
    if (total.count("flow-ai") != 0) {
      std::printf(" (%.0f at latency 0)", total["flow-ai"].sustained_rate);
    }
    std::printf(
        "\n  peak %llu calls in flight at the fake (%llu by the daemon's gauge), peak RSS %.1f "
        "MB\n",
        static_cast<unsigned long long>(slow.peak_in_flight_fake),
        static_cast<unsigned long long>(slow.peak_in_flight_daemon), mb(slow.peak_rss_kb));
  }
  if (total.count("flow-ai-hold") != 0) {
    const RunResult& hold = total["flow-ai-hold"];
    const int64_t idle_kb = hold.idle_rss_kb;
    std::printf(
        "model answering after %d ms (flow-ai-hold, %zu messages): peak %llu calls in flight at "
        "the\n  fake (%llu by the daemon's gauge), peak RSS %.1f MB = %.1f MB at start + %.1f KB "
        "per call in flight\n",
        hold_ms, latency_messages, static_cast<unsigned long long>(hold.peak_in_flight_fake),
        static_cast<unsigned long long>(hold.peak_in_flight_daemon), mb(hold.peak_rss_kb),
        mb(idle_kb),
        hold.peak_in_flight_fake > 0 ? static_cast<double>(hold.peak_rss_kb - idle_kb) /
                                           static_cast<double>(hold.peak_in_flight_fake)
                                     : 0);
  }
  std::printf(
      "targets (issue 5): >= 5000 concurrent in-flight AI calls under 300 MB RSS on 2 cores (see\n"
      "  flow-ai-hold); throughput bounded by the model's latency, not by waflow (see the seconds\n"
      "  \"more\" of flow-ai-slow: with every call in parallel, the last reply can come at best\n"
      "  one latency after the last message was posted)\n");
  std::printf(
      "\nposted/s = messages accepted per second (HTTP 200 once stored in the durable inbox);\n"
      "all (s) = from the first POST until every reply was sent to the sandbox; replies/s =\n"
      "replies / all; sustained = replies/s between the 10th and 90th percentile reply;\n"
      "in-flight f/d = peak AI calls received by the fake and not yet answered (latency > 0 only)\n"
      "/ peak of the daemon's waflow_http_client_in_flight (read every %d ms); RSS MB at start,\n"
      "peak MB = VmHWM; CPU µs/rep and cores used = the daemon's utime+stime over `all`. The fake\n"
      "model and the webhook sender run in this program, on the same cores as the daemon.\n",
      s.sample_ms);
  if (!s.keep) {
    fs::remove_all(s.work_dir);
  } else {
    std::printf("run directories kept in %s\n", s.work_dir.c_str());
  }
  curl_global_cleanup();
  return 0;
}
