// waflow-bench-soak: does a long run stay flat? The real daemon (`waflow run`: channel-cloudapi
// against FakeGraphApi, storage-sqlite, the flows of tests/perf/soak/flows, ai-openai against a
// slow FakeAi, the echo auto-reply for everything else) runs for --seconds at a steady mixed
// load of --rate customer messages a second, from --contacts customers:
//
//   chat   1-3 texts posted back to back, answered by the echo auto-reply, in order
//   order  "pesan #tag": soak_order.yaml asks how many and waits for the answer (`ask`), then
//          replies, pauses (`delay`, a stored job) and sends a follow-up (`schedule`, a job)
//   ai     "tanya #tag ...": soak_ai.yaml's `ai` step; the fake model answers after 200 ms-1 s
//   media  a photo with a caption: the channel downloads it from the fake, soak_media.yaml
//          answers with the caption
//
// Every webhook is signed with X-Hub-Signature-256 as Meta signs it and posted until the daemon
// answers 2xx, as Meta retries; --redeliver of them are posted once more after they were
// acknowledged. Every send the fake accepts gets its `sent`, `delivered` and mostly `read`
// statuses. Half-way the daemon is killed with SIGKILL and started again on the same data_dir;
// what it had not acknowledged is then posted again, like Meta does.
//
// A contact sends its next step only once every reply to the previous one arrived, so each reply
// it should get is known in advance, with a text unique to the message that caused it. The
// verdict, at the end:
//   lost        a reply to an acknowledged message that never reached the fake
//   duplicated  a reply the fake accepted twice (same text, or same outbox id, which the channel
//               sends as biz_opaque_callback_data)
//   reordered   a reply that arrived after a later reply to the same contact
// and, for each life of the daemon, whether RSS, open files, threads, the WAL, the outbox, job and
// inbox backlogs kept growing from the first minutes after warm-up to the last ones.
//
//   tests/perf/soak/bench_soak.sh <build-dir> [--seconds 600] [--rate 20] ...   (--help)
#include <curl/curl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon_process.h"
#include "fake_ai.h"
#include "fake_graph_api.h"
#include "proc_stats.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
using std::chrono::milliseconds;
using waflow::perf::loadAverage;
using waflow::perf::statusField;
using waflow::test::DaemonProcess;
using waflow::test::FakeAi;
using waflow::test::FakeGraphApi;
using waflow::test::RecordedSend;

#ifndef WAFLOW_BENCH_SOAK_FLOWS_DIR
#define WAFLOW_BENCH_SOAK_FLOWS_DIR "flows"
#endif

constexpr const char* kPhoneNumberId = "106540352242922";
constexpr const char* kAccessToken = "soak-token";
constexpr const char* kAppSecret = "soak-app-secret";
constexpr const char* kAiKey = "sk-soak";

std::atomic<bool> g_interrupted{false};

struct Settings {
  int seconds = 600;
  double rate = 20;  // customer messages per second
  int contacts = 0;  // 0: 25 per message a second, at least 50
  int interval = 0;  // seconds between table rows; 0: 60, or a tenth of a shorter run
  double redeliver = 0.05;
  int ai_min_ms = 200;
  int ai_max_ms = 1000;
  double slow_sends = 0.02;  // sends the fake answers late (but accepts at once)
  int slow_send_ms = 1500;
  int drain_seconds = 120;
  int stuck_seconds = 180;
  int posters = 8;
  int cache_mib = 0;  // storage-sqlite's page cache; 0: its default (32)
  bool kill = true;
  bool keep = false;
  fs::path waflow;
  fs::path flows_dir;
  fs::path work_dir;
};

// --- /proc and the file system ----------------------------------------------------------------

int64_t openFiles(pid_t pid) {
  std::error_code ec;
  int64_t n = 0;
  for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++n;
  }
  return n;
}

// Socket inode -> "local_port:remote_port", from /proc/<pid>/net/tcp (and tcp6).
std::map<std::string, std::pair<int, int>> tcpPorts(pid_t pid) {
  std::map<std::string, std::pair<int, int>> out;
  for (const char* table : {"tcp", "tcp6"}) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/net/" + table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, st, queues, timer, retr, uid, timeout, inode;
      f >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> inode;
      auto port = [](const std::string& a) {
        return static_cast<int>(std::strtol(a.c_str() + a.rfind(':') + 1, nullptr, 16));
      };
      out[inode] = {port(local), port(remote)};
    }
  }
  return out;
}

// Named local or remote ports, to tell the daemon's sockets apart.
using PortNames = std::vector<std::pair<int, std::string>>;

std::string socketKind(const std::pair<int, int>& ports, const PortNames& names) {
  for (const auto& [port, name] : names) {
    if (ports.first == port || ports.second == port) {
      return name;
    }
  }
  return "other";
}

// What the open files are: "sockets 40 (webhooks 12, graph 20, ...), pipes 2, anon 6, files 5
// (waflow.db x1, ...)", so a growing count says what leaks.
std::string openFileKinds(pid_t pid, const PortNames& names) {
  std::map<std::string, int> kinds;
  std::map<std::string, int> files;
  std::map<std::string, int> sockets;
  const auto ports = tcpPorts(pid);
  std::error_code ec;
  for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string target = fs::read_symlink(it->path(), ec).string();
    const std::string kind = target.rfind("socket:", 0) == 0       ? "sockets"
                             : target.rfind("pipe:", 0) == 0       ? "pipes"
                             : target.rfind("anon_inode:", 0) == 0 ? "anon"
                                                                   : "files";
    kinds[kind]++;
    if (kind == "files") {
      files[fs::path(target).filename().string()]++;
    } else if (kind == "sockets") {
      auto p = ports.find(target.substr(8, target.size() - 9));
      sockets[p == ports.end() ? "unix" : socketKind(p->second, names)]++;
    }
  }
  auto list = [](const std::map<std::string, int>& m, bool times) {
    std::string out;
    for (const auto& [name, n] : m) {
      out += (out.empty() ? "" : ", ") + name +
             (times ? (n > 1 ? " x" + std::to_string(n) : "") : " " + std::to_string(n));
    }
    return out;
  };
  std::string out;
  for (const auto& [kind, n] : kinds) {
    out += (out.empty() ? "" : ", ") + kind + " " + std::to_string(n);
    if (kind == "sockets") {
      out += " (" + list(sockets, false) + ")";
    } else if (kind == "files") {
      out += " (" + list(files, true) + ")";
    }
  }
  return out;
}

int64_t fileBytes(const fs::path& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

int64_t treeBytes(const fs::path& dir) {
  std::error_code ec;
  int64_t n = 0;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) {
      n += fileBytes(it->path());
    }
  }
  return n;
}

std::string sha256Base64(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  std::string out(4 * ((len + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), digest, static_cast<int>(len));
  return out;
}

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void sleepUnlessInterrupted(milliseconds d) {
  const auto until = Clock::now() + d;
  while (!g_interrupted && Clock::now() < until) {
    std::this_thread::sleep_for(std::min(milliseconds(100), d));
  }
}

// --- what storage holds -----------------------------------------------------------------------

struct Backlog {
  int64_t outbox = -1;  // replies not yet settled: pending, sending or in doubt
  int64_t jobs = -1;    // stored jobs: delays, follow-ups, ask timeouts
  int64_t inbox = -1;   // customer messages stored and not yet handled
};

int64_t countRows(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  int64_t n = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    n = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  return n;
}

// Read-only and brief, one statement each: a reader that stayed open would hold back the
// daemon's checkpoints and make the WAL grow by itself.
Backlog readBacklog(const fs::path& db_path) {
  Backlog b;
  sqlite3* db = nullptr;
  const std::string uri = "file:" + db_path.string() + "?mode=ro";
  if (sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) ==
      SQLITE_OK) {
    sqlite3_busy_timeout(db, 2000);
    b.outbox = countRows(
        db, "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending', 'in_doubt')");
    b.jobs = countRows(db, "SELECT count(*) FROM scheduled_jobs");
    b.inbox = countRows(db, "SELECT count(*) FROM inbox WHERE done = 0");
  }
  sqlite3_close(db);
  return b;
}

// storage-sqlite keeps its database in <data_dir>/plugins/<instance>/waflow.db.
fs::path findDatabase(const fs::path& data_dir) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(data_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename() == "waflow.db") {
      return it->path();
    }
  }
  return {};
}

// --- posting webhooks like Meta ---------------------------------------------------------------

size_t discardBody(char*, size_t size, size_t n, void*) {
  return size * n;
}

// One webhook, posted until the daemon acknowledges it (2xx).
struct Delivery {
  std::string body;
  Clock::time_point due;
  int attempts = 0;
  std::function<void()> on_ack;  // after the first 2xx; may post more
  bool operator<(const Delivery& o) const { return due > o.due; }  // earliest first
};

struct PosterCounts {
  std::atomic<uint64_t> posts{0};      // HTTP attempts
  std::atomic<uint64_t> acked{0};      // 2xx
  std::atomic<uint64_t> refused{0};    // non-2xx answers
  std::atomic<uint64_t> unreached{0};  // no answer: connection refused or reset, timeout
};

// Meta's side of the webhook: a pool of keep-alive connections posting signed bodies, and
// retrying each unacknowledged one with a growing delay (0.5 s doubling to 5 s), so a daemon that
// is down gets everything again once it is back.
class Poster {
 public:
  explicit Poster(int threads) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { work(); });
    }
  }
  ~Poster() { stop(); }
  Poster(const Poster&) = delete;
  Poster& operator=(const Poster&) = delete;

  // Where webhooks go: the daemon's URL changes with its port at a restart.
  void setUrl(std::string url) {
    std::lock_guard lock(mutex_);
    url_ = std::move(url);
  }
  void post(std::string body, milliseconds delay = milliseconds(0),
            std::function<void()> on_ack = {}) {
    {
      std::lock_guard lock(mutex_);
      queue_.push(Delivery{std::move(body), Clock::now() + delay, 0, std::move(on_ack)});
    }
    changed_.notify_one();
  }
  std::size_t waiting() {
    std::lock_guard lock(mutex_);
    return queue_.size() + busy_;
  }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) {
        t.join();
      }
    }
  }
  const PosterCounts& counts() const { return counts_; }

 private:
  void work() {
    CURL* curl = curl_easy_init();
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    headers = curl_slist_append(headers, "User-Agent: facebookexternalua");
    while (auto next = take()) {
      const bool ok = send(curl, headers, *next);
      finish(std::move(*next), ok);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
  }

  // The next delivery once it is due; nothing when stopping.
  std::optional<Delivery> take() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (stopping_) {
        return std::nullopt;
      }
      if (!queue_.empty() && queue_.top().due <= Clock::now()) {
        Delivery d = queue_.top();
        queue_.pop();
        ++busy_;
        return d;
      }
      if (queue_.empty()) {
        changed_.wait(lock);
      } else {
        changed_.wait_until(lock, queue_.top().due);
      }
    }
  }

  bool send(CURL* curl, curl_slist* headers, const Delivery& d) {
    std::string url;
    {
      std::lock_guard lock(mutex_);
      url = url_;
    }
    curl_slist* signed_headers = curl_slist_append(
        nullptr,
        ("X-Hub-Signature-256: " + FakeGraphApi::signatureHeader(kAppSecret, d.body)).c_str());
    for (curl_slist* h = headers; h != nullptr; h = h->next) {
      signed_headers = curl_slist_append(signed_headers, h->data);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, signed_headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, d.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(d.body.size()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &discardBody);
    counts_.posts++;
    const CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(signed_headers);
    if (rc != CURLE_OK) {
      counts_.unreached++;
      return false;
    }
    if (status < 200 || status > 299) {
      counts_.refused++;
      return false;
    }
    counts_.acked++;
    return true;
  }

  void finish(Delivery d, bool ok) {
    if (ok && d.on_ack) {
      d.on_ack();
    }
    std::lock_guard lock(mutex_);
    --busy_;
    if (!ok && !stopping_) {
      const auto backoff = milliseconds(std::min(5000, 500 << std::min(d.attempts, 4)));
      d.attempts++;
      d.due = Clock::now() + backoff;
      queue_.push(std::move(d));
      changed_.notify_one();
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::priority_queue<Delivery> queue_;
  std::size_t busy_ = 0;
  std::string url_;
  bool stopping_ = false;
  PosterCounts counts_;
  std::vector<std::thread> threads_;
};

// --- the replies each contact must get ----------------------------------------------------------

struct Findings {
  uint64_t expected = 0;
  uint64_t arrived = 0;
  uint64_t lost = 0;
  uint64_t unacknowledged = 0;   // replies to messages the daemon never acknowledged
  uint64_t duplicated = 0;       // by text
  uint64_t late_duplicates = 0;  // ... of which after a later reply to the same contact
  uint64_t duplicated_ids = 0;   // by biz_opaque_callback_data
  uint64_t reordered = 0;
  uint64_t unexpected = 0;
  std::vector<std::string> examples;  // of every kind, a few each
};

// Every reply the load expects, keyed by its text (each holds the tag of the message that caused
// it), and what the fake accepted. Thread-safe.
class Ledger {
 public:
  void expect(const std::string& contact, const std::string& cause, const std::string& text) {
    std::lock_guard lock(mutex_);
    Expected& e = by_text_[text];
    e.contact = contact;
    e.cause = cause;
    e.index = next_index_[contact]++;
  }
  void acknowledged(const std::string& cause) {
    std::lock_guard lock(mutex_);
    acked_.insert(cause);
  }
  // The contact a new reply belongs to; nothing for a duplicate or an unexpected send.
  std::optional<std::string> record(const RecordedSend& send) {
    const std::string text = replyText(send);
    std::lock_guard lock(mutex_);
    countCallbackId(send, text);
    auto it = by_text_.find(text);
    if (it == by_text_.end()) {
      note(found_.unexpected, "unexpected reply to " + send.to + ": \"" + text + "\"");
      return std::nullopt;
    }
    Expected& e = it->second;
    int64_t& highest = highest_[e.contact];
    if (++e.arrivals > 1) {
      note(found_.duplicated, "reply sent twice to " + e.contact + ": \"" + text + "\"" +
                                  (highest > e.index ? " (after a later reply)" : ""));
      found_.late_duplicates += highest > e.index ? 1 : 0;
      return std::nullopt;
    }
    if (e.index < highest) {
      note(found_.reordered, "reply to " + e.contact + " after a later one: \"" + text + "\"");
    }
    highest = std::max(highest, e.index);
    return e.contact;
  }
  Findings findings() {
    std::lock_guard lock(mutex_);
    Findings f = found_;
    for (const auto& [text, e] : by_text_) {
      f.expected++;
      f.arrived += e.arrivals > 0 ? 1 : 0;
      if (e.arrivals == 0 && acked_.count(e.cause) == 0) {
        f.unacknowledged++;
      } else if (e.arrivals == 0) {
        f.lost++;
        if (f.examples.size() < 40) {
          f.examples.push_back("lost: " + e.contact + " never got \"" + text + "\" (message " +
                               e.cause + ")");
        }
      }
    }
    return f;
  }

 private:
  struct Expected {
    std::string contact;
    std::string cause;  // the customer message's id
    int64_t index = 0;  // its place among the contact's replies
    int arrivals = 0;
  };

  static std::string replyText(const RecordedSend& send) {
    const Json& b = send.body;
    if (b.is_object() && b.contains("text") && b["text"].is_object()) {
      return b["text"].value("body", "");
    }
    return "[" + send.type + "]";
  }
  void countCallbackId(const RecordedSend& send, const std::string& text) {
    const std::string id =
        send.body.is_object() ? send.body.value("biz_opaque_callback_data", "") : "";
    if (!id.empty() && ++callback_ids_[id] == 2) {
      note(found_.duplicated_ids, "outbox id " + id + " accepted twice: \"" + text + "\"");
    }
  }
  void note(uint64_t& counter, std::string example) {
    if (++counter <= 10) {
      found_.examples.push_back(std::move(example));
    }
  }

  std::mutex mutex_;
  std::unordered_map<std::string, Expected> by_text_;
  std::unordered_map<std::string, int64_t> next_index_;
  std::unordered_map<std::string, int64_t> highest_;
  std::unordered_set<std::string> acked_;
  std::unordered_map<std::string, int> callback_ids_;
  Findings found_;
};

// --- the customers ------------------------------------------------------------------------------

// One customer message and the replies it must cause, in order.
struct Outgoing {
  std::string id;
  std::string body;
  std::vector<std::string> replies;
};
// Messages posted back to back (each once the previous is acknowledged); the contact's next step
// waits for all their replies.
using Step = std::vector<Outgoing>;

struct Contact {
  std::string wa_id;
  int serial = 0;             // messages sent, for unique tags
  std::deque<Step> steps;     // the rest of the current session
  std::size_t awaiting = 0;   // replies of the current step not yet arrived
  Clock::time_point since{};  // when the current step was posted
  bool stuck = false;
};

struct LoadCounts {
  std::atomic<uint64_t> messages{0};     // customer messages posted (first time)
  std::atomic<uint64_t> acked{0};        // ... acknowledged
  std::atomic<uint64_t> redelivered{0};  // acknowledged webhooks posted once more
  std::atomic<uint64_t> statuses{0};     // status webhooks posted (first time)
  std::atomic<uint64_t> statuses_acked{0};
  std::atomic<uint64_t> replies{0};  // sends the fake accepted
  std::atomic<uint64_t> media{0};
  std::atomic<uint64_t> ai{0};
  std::atomic<uint64_t> stuck{0};
  std::atomic<uint64_t> starved_ms{0};  // time the pacer found no contact ready
};

const std::vector<std::string> kChats = {
    "halo kak, kue coklat masih ada?", "kak, bisa kirim ke Cimahi hari Sabtu?",
    "bolu pandan ready sore ini?",     "terima kasih ya kak",
    "alamat tokonya di mana kak?",     "buka jam berapa besok?",
};
const std::vector<std::string> kQuestions = {
    "kue apa yang cocok untuk ulang tahun anak?",
    "berapa lama kue tahan di kulkas?",
    "bisa tulis nama di atas kue?",
    "ada pilihan tanpa gula?",
};

// Builds each session's webhooks and expected replies; posts the steps at --rate. Thread-safe.
class Load {
 public:
  Load(const Settings& s, FakeGraphApi& fake, Ledger& ledger, Poster& poster, LoadCounts& counts)
      : s_(s), fake_(fake), ledger_(ledger), poster_(poster), counts_(counts) {
    const int n = s.contacts;
    for (int i = 0; i < n; ++i) {
      Contact c;
      c.wa_id = std::to_string(6281900000000LL + i);
      index_[c.wa_id] = contacts_.size();
      contacts_.push_back(std::move(c));
      ready_.push_back(static_cast<std::size_t>(i));
    }
  }

  // Posts steps at the rate until `until`; with `finish_only`, only the steps left of sessions
  // already begun (the drain), until none is left or `until`.
  void run(Clock::time_point until, bool finish_only) {
    double tokens = 0;
    auto last = Clock::now();
    while (!g_interrupted && Clock::now() < until) {
      const auto now = Clock::now();
      tokens = std::min(tokens + s_.rate * std::chrono::duration<double>(now - last).count(),
                        std::max(3.0, s_.rate));
      last = now;
      retireStuck();
      if (finish_only && idle()) {
        return;
      }
      std::optional<std::size_t> who = nextReady(finish_only);
      if (!who) {
        counts_.starved_ms += finish_only ? 0 : 20;
        std::this_thread::sleep_for(milliseconds(20));
        continue;
      }
      const std::size_t size = stepSize(*who);
      while (!g_interrupted && tokens < static_cast<double>(size)) {
        std::this_thread::sleep_for(milliseconds(5));
        const auto t = Clock::now();
        tokens += s_.rate * std::chrono::duration<double>(t - last).count();
        last = t;
      }
      tokens -= static_cast<double>(size);
      postStep(*who);
    }
  }

  // A new reply arrived for `wa_id`: once the step has all its replies, the contact is ready.
  void onReply(const std::string& wa_id) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(wa_id);
    if (it == index_.end()) {
      return;
    }
    Contact& c = contacts_[it->second];
    if (c.awaiting > 0 && --c.awaiting == 0 && !c.stuck) {
      ready_.push_back(it->second);
    }
  }

 private:
  // No contact waits for replies and no session begun is left unfinished (stuck ones aside).
  bool idle() {
    std::lock_guard lock(mutex_);
    return std::none_of(contacts_.begin(), contacts_.end(), [](const Contact& c) {
      return !c.stuck && (c.awaiting > 0 || !c.steps.empty());
    });
  }

  std::optional<std::size_t> nextReady(bool finish_only) {
    std::lock_guard lock(mutex_);
    for (std::size_t n = ready_.size(); n > 0; --n) {
      std::size_t i = ready_.front();
      ready_.pop_front();
      if (!finish_only || !contacts_[i].steps.empty()) {
        return i;
      }
      ready_.push_back(i);
    }
    return std::nullopt;
  }

  // The number of messages of the contact's next step, beginning a new session if needed.
  std::size_t stepSize(std::size_t i) {
    std::lock_guard lock(mutex_);
    Contact& c = contacts_[i];
    if (c.steps.empty()) {
      c.steps = newSession(c);
    }
    return c.steps.front().size();
  }

  void postStep(std::size_t i) {
    std::shared_ptr<Step> step;
    std::string wa_id;
    {
      std::lock_guard lock(mutex_);
      Contact& c = contacts_[i];
      step = std::make_shared<Step>(std::move(c.steps.front()));
      c.steps.pop_front();
      c.awaiting = 0;
      for (const Outgoing& m : *step) {
        c.awaiting += m.replies.size();
      }
      c.since = Clock::now();
      wa_id = c.wa_id;
    }
    for (const Outgoing& m : *step) {
      for (const std::string& reply : m.replies) {
        ledger_.expect(wa_id, m.id, reply);
      }
    }
    postChain(step, 0);
  }

  // Message `k` of the step, and the next once the daemon acknowledged it: a customer's burst
  // reaches the daemon in the order it was typed.
  void postChain(std::shared_ptr<Step> step, std::size_t k) {
    const Outgoing& m = (*step)[k];
    counts_.messages++;
    poster_.post(m.body, milliseconds(0), [this, step, k] {
      const Outgoing& done = (*step)[k];
      ledger_.acknowledged(done.id);
      counts_.acked++;
      maybeRedeliver(done.body);
      if (k + 1 < step->size()) {
        postChain(step, k + 1);
      }
    });
  }

  void maybeRedeliver(const std::string& body) {
    if (chance(s_.redeliver)) {
      counts_.redelivered++;
      poster_.post(body, milliseconds(uniform(500, 5000)));
    }
  }

  void retireStuck() {
    std::lock_guard lock(mutex_);
    const auto limit = Clock::now() - std::chrono::seconds(s_.stuck_seconds);
    for (Contact& c : contacts_) {
      if (c.awaiting > 0 && !c.stuck && c.since < limit) {
        c.stuck = true;
        counts_.stuck++;
      }
    }
  }

  std::deque<Step> newSession(Contact& c) {
    const int pick = uniform(0, 99);
    if (pick < 35) {
      return chatSession(c);
    }
    if (pick < 55) {
      return orderSession(c);
    }
    if (pick < 80) {
      return aiSession(c);
    }
    return mediaSession(c);
  }

  std::string tag(Contact& c) { return "#" + c.wa_id.substr(7) + "-" + std::to_string(++c.serial); }
  std::string messageId(Contact& c, const std::string& t) {
    return "wamid.soak." + std::to_string(::getpid()) + "." + t.substr(1) + "." +
           std::to_string(c.serial);
  }
  Outgoing text(Contact& c, const std::string& body_text, std::vector<std::string> replies,
                const std::string& t) {
    Outgoing m;
    m.id = messageId(c, t);
    m.body = fake_.buildTextWebhook(kPhoneNumberId, c.wa_id, "Pelanggan " + c.wa_id.substr(7),
                                    body_text, m.id);
    m.replies = std::move(replies);
    return m;
  }

  // 1-3 texts in a row; the echo auto-reply repeats each.
  std::deque<Step> chatSession(Contact& c) {
    Step burst;
    for (int n = uniform(1, 3); n > 0; --n) {
      const std::string t = tag(c);
      const std::string body = kChats[uniform(0, kChats.size() - 1)] + " " + t;
      burst.push_back(text(c, body, {body}, t));
    }
    return {burst};
  }

  // soak_order.yaml: the question; then the answer, which gets a confirmation, a reply after the
  // delay and the follow-up.
  std::deque<Step> orderSession(Contact& c) {
    const std::string t = tag(c);
    const std::string order = "pesan " + t;
    const std::string qty = std::to_string(uniform(1, 20));
    Step ask = {text(c, order, {"Berapa kue untuk " + order + "?"}, t)};
    const std::string t2 = tag(c);
    Step answer = {text(
        c, qty,
        {"Siap, " + qty + " kue untuk " + order, "Diproses: " + order, "Follow-up: " + order}, t2)};
    return {ask, answer};
  }

  // soak_ai.yaml: the fake model answers "Echo: <the question>".
  std::deque<Step> aiSession(Contact& c) {
    const std::string t = tag(c);
    const std::string q = "tanya " + t + " " + kQuestions[uniform(0, kQuestions.size() - 1)];
    counts_.ai++;
    return {Step{text(c, q, {"Echo: " + q}, t)}};
  }

  // soak_media.yaml: a photo the fake serves, with a caption carrying the tag.
  std::deque<Step> mediaSession(Contact& c) {
    const std::string t = tag(c);
    const std::string caption = "foto kue " + t;
    std::mt19937 bytes_rng(static_cast<unsigned>(c.serial * 7919 + uniform(0, 1 << 20)));
    std::string bytes(static_cast<std::size_t>(uniform(2048, 8192)), '\0');
    for (char& b : bytes) {
      b = static_cast<char>(bytes_rng());
    }
    const std::string sha = sha256Base64(bytes);
    const std::string media_id = fake_.addMedia(std::move(bytes), "image/jpeg");
    Outgoing m = text(c, caption, {"Foto diterima: " + caption}, t);
    Json body = Json::parse(m.body);
    Json& msg = body["entry"][0]["changes"][0]["value"]["messages"][0];
    msg.erase("text");
    msg["type"] = "image";
    msg["image"] = {
        {"caption", caption}, {"mime_type", "image/jpeg"}, {"sha256", sha}, {"id", media_id}};
    m.body = body.dump();
    counts_.media++;
    return {Step{m}};
  }

  int uniform(int lo, int hi) {
    std::lock_guard lock(rng_mutex_);
    return std::uniform_int_distribution<int>(lo, hi)(rng_);
  }
  int uniform(int lo, std::size_t hi) { return uniform(lo, static_cast<int>(hi)); }
  bool chance(double p) {
    std::lock_guard lock(rng_mutex_);
    return std::uniform_real_distribution<double>(0, 1)(rng_) < p;
  }

  const Settings& s_;
  FakeGraphApi& fake_;
  Ledger& ledger_;
  Poster& poster_;
  LoadCounts& counts_;
  std::mutex mutex_;
  std::vector<Contact> contacts_;
  std::unordered_map<std::string, std::size_t> index_;
  std::deque<std::size_t> ready_;
  std::mutex rng_mutex_;
  std::mt19937 rng_{20251122};
};

// --- Meta's side after a send: records and statuses ------------------------------------------

// Reads what the fake accepted every 100 ms, tells the ledger and the load, and posts each
// send's statuses as Meta would: `sent` within a second, `delivered` soon after, `read` for
// most; a share of them twice.
class StatusFeed {
 public:
  StatusFeed(const Settings& s, FakeGraphApi& fake, Ledger& ledger, Load& load, Poster& poster,
             LoadCounts& counts)
      : s_(s), fake_(fake), ledger_(ledger), load_(load), poster_(poster), counts_(counts) {
    thread_ = std::thread([this] { loop(); });
  }
  ~StatusFeed() { stop(); }
  StatusFeed(const StatusFeed&) = delete;
  StatusFeed& operator=(const StatusFeed&) = delete;

  void stop() {
    stopping_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
  }

 private:
  void loop() {
    while (!stopping_) {
      for (const RecordedSend& send : fake_.takeSends()) {
        if (send.status == 200) {
          take(send);
        }
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
  }

  void take(const RecordedSend& send) {
    counts_.replies++;
    if (auto contact = ledger_.record(send)) {
      load_.onReply(*contact);
    }
    const int sent_ms = uniform(200, 1000);
    postStatus(send.wamid, "sent", sent_ms);
    postStatus(send.wamid, "delivered", sent_ms + uniform(300, 2000));
    if (uniform(0, 99) < 70) {
      postStatus(send.wamid, "read", sent_ms + uniform(2000, 6000));
    }
  }

  void postStatus(const std::string& wamid, const char* status, int after_ms) {
    const std::string body = fake_.buildStatusWebhook(wamid, status);
    counts_.statuses++;
    const bool again = uniform(0, 9999) < static_cast<int>(s_.redeliver * 10000);
    poster_.post(body, milliseconds(after_ms), [this, body, again] {
      counts_.statuses_acked++;
      if (again) {
        counts_.redelivered++;
        poster_.post(body, milliseconds(uniform(500, 5000)));
      }
    });
  }

  int uniform(int lo, int hi) {
    std::lock_guard lock(rng_mutex_);
    return std::uniform_int_distribution<int>(lo, hi)(rng_);
  }

  const Settings& s_;
  FakeGraphApi& fake_;
  Ledger& ledger_;
  Load& load_;
  Poster& poster_;
  LoadCounts& counts_;
  std::mutex rng_mutex_;
  std::mt19937 rng_{7};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// --- samples, the table and the growth verdict ------------------------------------------------

struct Sample {
  double t = 0;
  int life = 0;  // 0: the idle baseline; 1: before the kill; 2: after the restart
  int64_t rss_kb = 0;
  int64_t fds = 0;
  int64_t threads = 0;
  int64_t db_bytes = 0;
  int64_t wal_bytes = 0;
  int64_t media_bytes = 0;
  Backlog backlog;
  uint64_t msgs_in = 0;  // customer messages acknowledged, cumulative
  uint64_t replies = 0;  // sends accepted, cumulative
  uint64_t statuses = 0;
  uint64_t ai_calls = 0;
};

class Sampler {
 public:
  Sampler(fs::path data_dir, const LoadCounts& counts, const FakeAi& ai)
      : data_dir_(std::move(data_dir)), counts_(counts), ai_(ai) {}

  Sample take(pid_t pid, int life, double t) {
    Sample s;
    s.t = t;
    s.life = life;
    s.rss_kb = statusField(pid, "VmRSS");
    s.fds = openFiles(pid);
    s.threads = statusField(pid, "Threads");
    if (db_.empty()) {
      db_ = findDatabase(data_dir_);
    }
    if (!db_.empty()) {
      s.db_bytes = fileBytes(db_);
      s.wal_bytes = fileBytes(db_.string() + "-wal");
      s.backlog = readBacklog(db_);
    }
    s.media_bytes = treeBytes(data_dir_ / "plugins" / "wa" / "media");
    s.msgs_in = counts_.acked;
    s.replies = counts_.replies;
    s.statuses = counts_.statuses_acked;
    s.ai_calls = ai_.requestCount();
    return s;
  }

 private:
  fs::path data_dir_;
  fs::path db_;
  const LoadCounts& counts_;
  const FakeAi& ai_;
};

double mb(int64_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

void printHeader() {
  std::printf("%7s %4s %7s %5s %4s %7s %7s %7s %7s %6s %6s %7s %7s %8s %6s  %s\n", "time", "life",
              "RSS MB", "fds", "thr", "db MB", "wal MB", "mediaMB", "outbox", "jobs", "inbox",
              "msgs in", "replies", "statuses", "AI", "note");
}

std::string num(int64_t v) {
  return v < 0 ? "?" : std::to_string(v);
}

// One row: resources now, traffic since the previous row.
void printRow(const Sample& s, const Sample& prev, const std::string& note) {
  char time[16];
  std::snprintf(time, sizeof(time), "%d:%02d", static_cast<int>(s.t) / 60,
                static_cast<int>(s.t) % 60);
  std::printf(
      "%7s %4s %7.1f %5lld %4lld %7.1f %7.1f %7.2f %7s %6s %6s %7llu %7llu %8llu %6llu  %s\n",
      s.life == 0 ? "idle" : time, s.life == 0 ? "-" : std::to_string(s.life).c_str(),
      static_cast<double>(s.rss_kb) / 1024.0, static_cast<long long>(s.fds),
      static_cast<long long>(s.threads), mb(s.db_bytes), mb(s.wal_bytes), mb(s.media_bytes),
      num(s.backlog.outbox).c_str(), num(s.backlog.jobs).c_str(), num(s.backlog.inbox).c_str(),
      static_cast<unsigned long long>(s.msgs_in - prev.msgs_in),
      static_cast<unsigned long long>(s.replies - prev.replies),
      static_cast<unsigned long long>(s.statuses - prev.statuses),
      static_cast<unsigned long long>(s.ai_calls - prev.ai_calls), note.c_str());
  std::fflush(stdout);
}

// How a resource may move between the early and the late window before it counts as growing:
// the late window's lowest value must exceed the early window's highest by more than `slack`
// (and by `ratio` of it). A plateau, or noise around one, is never flagged; a steady climb is.
struct Resource {
  const char* name;
  std::function<double(const Sample&)> value;
  double slack;
  double ratio;
  const char* unit;
};

const std::vector<Resource>& resources() {
  static const std::vector<Resource> kResources = {
      {"RSS", [](const Sample& s) { return static_cast<double>(s.rss_kb) / 1024.0; }, 4, 0.10,
       "MB"},
      {"open files", [](const Sample& s) { return static_cast<double>(s.fds); }, 8, 0, ""},
      {"threads", [](const Sample& s) { return static_cast<double>(s.threads); }, 2, 0, ""},
      {"WAL", [](const Sample& s) { return mb(s.wal_bytes); }, 8, 0.10, "MB"},
      {"media dir", [](const Sample& s) { return mb(s.media_bytes); }, 1, 0.10, "MB"},
      {"outbox backlog", [](const Sample& s) { return static_cast<double>(s.backlog.outbox); }, 20,
       0, ""},
      {"job backlog", [](const Sample& s) { return static_cast<double>(s.backlog.jobs); }, 20, 0,
       ""},
      {"inbox backlog", [](const Sample& s) { return static_cast<double>(s.backlog.inbox); }, 20, 0,
       ""},
  };
  return kResources;
}

struct Window {
  double lo = 1e300;
  double hi = -1e300;
  double mean = 0;
  double mid = 0;    // its mean time
  double slope = 0;  // least squares, per second
  std::size_t n = 0;
};

Window window(const std::vector<Sample>& samples, double from, double to,
              const std::function<double(const Sample&)>& value) {
  Window w;
  double st = 0, stt = 0, stv = 0;
  for (const Sample& s : samples) {
    if (s.t >= from && s.t <= to) {
      const double v = value(s);
      w.lo = std::min(w.lo, v);
      w.hi = std::max(w.hi, v);
      w.mean += v;
      st += s.t;
      stt += s.t * s.t;
      stv += s.t * v;
      w.n++;
    }
  }
  if (w.n == 0) {
    return w;
  }
  const double n = static_cast<double>(w.n);
  w.mean /= n;
  w.mid = st / n;
  const double var = stt / n - w.mid * w.mid;
  w.slope = var > 0 ? (stv / n - w.mid * w.mean) / var : 0;
  return w;
}

// "flat" when the late window lies within the early one's range (plus the resource's slack);
// above it and still climbing at half the average pace or more: "GROWS"; above it but levelled
// off (a cache or the WAL filling up to its bound during the first minutes): "rose, then level".
std::string judge(const Resource& r, const Window& early, const Window& late) {
  if (late.lo <= early.hi + r.slack || late.lo <= early.hi * (1 + r.ratio)) {
    return "flat";
  }
  const double pace = (late.mean - early.mean) / std::max(1.0, late.mid - early.mid);
  return late.slope >= 0.5 * pace ? "GROWS" : "rose, then level";
}

struct LifeSpan {
  int number;
  double start;
  double end;
};

// A life's first seconds are left out: the load's own state (questions waiting for their
// answer, the contacts' first cycle) builds up over them.
double warmupOf(const LifeSpan& l) {
  return std::min(60.0, (l.end - l.start) / 4);
}

// One life's cell of the growth table ("early -> late") and, unless the resource stayed flat,
// its verdict with the pace per minute.
struct LifeJudgement {
  std::string cell;
  std::string verdict;
  bool grows = false;
};

// After the life's warm-up, its first third against its last.
LifeJudgement judgeLife(const Resource& r, const std::vector<Sample>& samples, const LifeSpan& l) {
  const double from = l.start + warmupOf(l);
  const double third = (l.end - from) / 3;
  const Window early = window(samples, from, from + third, r.value);
  const Window late = window(samples, l.end - third, l.end, r.value);
  if (early.n == 0 || late.n == 0) {
    return {"too short", "", false};
  }
  char cell[64];
  std::snprintf(cell, sizeof(cell), "%.1f [%.0f-%.0f] -> %.1f [%.0f-%.0f]", early.mean, early.lo,
                early.hi, late.mean, late.lo, late.hi);
  const std::string v = judge(r, early, late);
  if (v == "flat") {
    return {cell, "", false};
  }
  char verdict[96];
  std::snprintf(verdict, sizeof(verdict), "%s in life %d (%+.1f%s%s a minute)", v.c_str(), l.number,
                60 * (late.mean - early.mean) / std::max(1.0, late.mid - early.mid),
                *r.unit != '\0' ? " " : "", r.unit);
  return {cell, verdict, v == "GROWS"};
}

// The growth table, a row per resource and a column per life; whether anything grew.
bool printGrowth(const std::vector<Sample>& samples, const std::vector<LifeSpan>& lives,
                 const Sample& idle) {
  bool grew = false;
  std::printf(
      "\ngrowth (per daemon life; early = first third after a %.0f s warm-up, late = last "
      "third; mean [min-max]):\n",
      warmupOf(lives.front()));
  std::printf("  %-15s %9s", "resource", "idle");
  for (const LifeSpan& l : lives) {
    std::printf("   %-38s", ("life " + std::to_string(l.number) + ": early -> late").c_str());
  }
  std::printf("  verdict\n");
  for (const Resource& r : resources()) {
    std::printf("  %-15s %9.1f", r.name, r.value(idle));
    std::string verdict;
    for (const LifeSpan& l : lives) {
      const LifeJudgement j = judgeLife(r, samples, l);
      std::printf("   %-38s", j.cell.c_str());
      if (!j.verdict.empty()) {
        verdict += (verdict.empty() ? "" : "; ") + j.verdict;
      }
      grew = grew || j.grows;
    }
    std::printf("  %s\n", verdict.empty() ? "flat" : verdict.c_str());
  }
  return grew;
}

// The database keeps every message and reply (waflow has no retention of rows yet), so it grows
// with the traffic; what must stay flat is the bytes it takes per message.
void printDatabaseGrowth(const std::vector<Sample>& samples, const std::vector<LifeSpan>& lives) {
  for (const LifeSpan& l : lives) {
    const double from = l.start + warmupOf(l);
    auto first = std::find_if(samples.begin(), samples.end(),
                              [&](const Sample& s) { return s.life == l.number && s.t >= from; });
    auto last = std::find_if(samples.rbegin(), samples.rend(),
                             [&](const Sample& s) { return s.life == l.number; });
    if (first == samples.end() || last == samples.rend() || last->msgs_in <= first->msgs_in) {
      continue;
    }
    const int64_t before = first->db_bytes + first->wal_bytes;
    const int64_t after = last->db_bytes + last->wal_bytes;
    const double per_msg =
        static_cast<double>(after - before) / static_cast<double>(last->msgs_in - first->msgs_in);
    std::printf(
        "  %-15s life %d: db + wal %.1f -> %.1f MB, %.2f KB per customer message (grows "
        "with the data kept: no row retention)\n",
        "database", l.number, mb(before), mb(after), per_msg / 1024.0);
  }
}

// --- the daemon ---------------------------------------------------------------------------------

void replaceAll(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// Secrets come from the environment (secrets()), as an operator would write them.
std::string configYaml(const Settings& s, const fs::path& data_dir, const FakeGraphApi& fake,
                       const FakeAi& ai) {
  std::string yaml = R"(server: { listen: 127.0.0.1:0, threads: 2 }
log: { level: warn }
data_dir: @DATA_DIR@
channels:
  wa:
    plugin: channel-cloudapi
    config:
      phone_number_id: "@PHONE_NUMBER_ID@"
      access_token: ${SOAK_WA_TOKEN}
      app_secret: ${SOAK_APP_SECRET}
      verify_token: ${SOAK_VERIFY_TOKEN}
      base_url: @GRAPH_URL@
      media_hosts: ["127.0.0.1"]
      max_media_bytes: 512KiB
      media_quota: 1MiB
ai:
  model:
    plugin: ai-openai
    config:
      base_url: @AI_URL@
      api_key: ${SOAK_AI_KEY}
      model: gpt-4o-mini
flows_dir: @FLOWS_DIR@
flows: { enabled: true, watch: false }
auto_reply: { mode: echo }
)";
  if (s.cache_mib > 0) {
    yaml +=
        "storage: { plugin: storage-sqlite, config: { cache_mib: " + std::to_string(s.cache_mib) +
        " } }\n";
  }
  replaceAll(yaml, "@DATA_DIR@", data_dir.string());
  replaceAll(yaml, "@PHONE_NUMBER_ID@", kPhoneNumberId);
  replaceAll(yaml, "@GRAPH_URL@", fake.baseUrl());
  replaceAll(yaml, "@AI_URL@", ai.baseUrl());
  replaceAll(yaml, "@FLOWS_DIR@", s.flows_dir.string());
  return yaml;
}

std::map<std::string, std::string> secrets() {
  return {{"SOAK_WA_TOKEN", kAccessToken},
          {"SOAK_APP_SECRET", kAppSecret},
          {"SOAK_VERIFY_TOKEN", "soak-verify"},
          {"SOAK_AI_KEY", kAiKey}};
}

// `waflow validate` on the config and the soak's flows: the run is pointless if they are wrong.
bool validate(const Settings& s, const std::string& yaml) {
  const fs::path file = s.work_dir / "validate.yaml";
  std::ofstream(file) << yaml;
  std::string cmd;
  for (const auto& [k, v] : secrets()) {
    cmd += k + "=" + v + " ";
  }
  cmd += s.waflow.string() + " validate -c " + file.string() + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (p != nullptr && std::fgets(buf, sizeof(buf), p) != nullptr) {
    out += buf;
  }
  const int rc = p != nullptr ? ::pclose(p) : -1;
  std::printf("waflow validate: %s", out.c_str());
  return rc == 0;
}

// A daemon on the shared data_dir; its log is kept in the work dir under `name` when it goes.
class DaemonLife {
 public:
  DaemonLife(const std::string& yaml, fs::path log_copy)
      : process_(std::make_unique<DaemonProcess>(yaml, std::vector<std::string>{}, secrets())),
        log_copy_(std::move(log_copy)) {}
  ~DaemonLife() { std::ofstream(log_copy_) << process_->log(); }
  DaemonProcess& process() { return *process_; }

 private:
  std::unique_ptr<DaemonProcess> process_;
  fs::path log_copy_;
};

// The log lines at warning level and above, counted by their message (timestamps and request
// ids removed), the most frequent first.
void printLogSummary(const fs::path& log, const char* title) {
  std::ifstream in(log);
  std::string line;
  std::map<std::string, int> counts;
  std::map<std::string, std::string> first;
  while (std::getline(in, line)) {
    if (line.find("listening on") != std::string::npos) {
      continue;
    }
    std::string key = line.size() > 30 ? line.substr(line.find(' ') + 1) : line;
    key = key.substr(0, 110);
    counts[key]++;
    first.emplace(key, line);
  }
  std::vector<std::pair<int, std::string>> sorted;
  for (const auto& [k, n] : counts) {
    sorted.emplace_back(n, k);
  }
  std::sort(sorted.rbegin(), sorted.rend());
  std::printf("  %s: %zu distinct line(s)\n", title, sorted.size());
  for (std::size_t i = 0; i < sorted.size() && i < 8; ++i) {
    std::printf("    %5dx %s\n", sorted[i].first, first[sorted[i].second].substr(0, 220).c_str());
  }
}

std::string metricsText(DaemonProcess& d) {
  return waflow::test::http("GET", d.url("/metrics"), "", {}, 5000).body;
}

double metricSum(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.size() > name.size() && line.rfind(name, 0) == 0 &&
        (line[name.size()] == '{' || line[name.size()] == ' ')) {
      sum += std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
    }
  }
  return sum;
}

// What the daemon itself counted in one life: failures it knows about.
std::string lifeChecks(DaemonProcess& d, const PortNames& names) {
  const std::string metrics = metricsText(d);
  char out[512];
  std::snprintf(out, sizeof(out),
                "stored %.0f, duplicates recognised %.0f, replies sent %.0f, send failures %.0f, "
                "in doubt %.0f, retries %.0f, flow step failures %.0f, quarantined %.0f",
                metricSum(metrics, "waflow_messages_received_total"),
                metricSum(metrics, "waflow_messages_duplicate_total"),
                metricSum(metrics, "waflow_outbox_sent_total"),
                metricSum(metrics, "waflow_outbox_failed_total"),
                metricSum(metrics, "waflow_outbox_in_doubt_total"),
                metricSum(metrics, "waflow_outbox_retries_total"),
                metricSum(metrics, "waflow_flow_step_failures_total"),
                metricSum(metrics, "waflow_messages_quarantined_total"));
  return std::string(out) + "; open files: " + openFileKinds(d.pid(), names);
}

// --- the run ----------------------------------------------------------------------------------

struct Run {
  Settings s;
  FakeGraphApi fake{FakeGraphApi::Options{.access_token = kAccessToken, .threads = 2}};
  FakeAi ai{FakeAi::Options{.api_key = kAiKey, .path_prefix = "/v1", .threads = 2}};
  Ledger ledger;
  LoadCounts counts;
  std::unique_ptr<Poster> poster;
  std::unique_ptr<Load> load;
  std::unique_ptr<StatusFeed> feed;
  std::unique_ptr<Sampler> sampler;
  std::string yaml;  // the daemon's config, the same for both lives
  std::vector<Sample> samples;
  std::vector<LifeSpan> lives;
  std::vector<std::string> life_checks;
  Sample idle;
  Sample last_row;
  double restart_s = -1;
  double next_row = 0;
  Clock::time_point t0;

  // The poster's callbacks and the feed use the load and the ledger: both stop first.
  ~Run() {
    if (feed) {
      feed->stop();
    }
    if (poster) {
      poster->stop();
    }
  }
};

// Samples the daemon every 2 s, and prints a row every interval, until `until` (seconds of
// load).
void sampleLoop(Run& r, DaemonLife& daemon, int life, double until) {
  double next_sample = secondsSince(r.t0);
  while (!g_interrupted && secondsSince(r.t0) < until) {
    const double now = secondsSince(r.t0);
    if (now >= next_sample) {
      r.samples.push_back(r.sampler->take(daemon.process().pid(), life, now));
      next_sample += 2;
    }
    if (now >= r.next_row && !r.samples.empty()) {
      char note[64] = "";
      if (life == 2 && r.last_row.life == 1) {
        std::snprintf(note, sizeof(note), "restarted, /healthz after %.2f s", r.restart_s);
      }
      printRow(r.samples.back(), r.last_row, note);
      r.last_row = r.samples.back();
      r.next_row += r.s.interval;
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
}

// A sample printed as a row of its own, with a note.
void markRow(Run& r, DaemonLife& daemon, int life, const char* note) {
  r.samples.push_back(r.sampler->take(daemon.process().pid(), life, secondsSince(r.t0)));
  printRow(r.samples.back(), r.last_row, note);
  r.last_row = r.samples.back();
}

PortNames portNames(Run& r, DaemonProcess& d) {
  return {{d.port(), "webhooks"}, {r.fake.port(), "graph api"}, {r.ai.port(), "model"}};
}

// Starts a daemon life and waits until it answers; the poster is pointed at it.
std::unique_ptr<DaemonLife> startLife(Run& r, const std::string& yaml, int number) {
  auto life = std::make_unique<DaemonLife>(
      yaml, r.s.work_dir / ("daemon" + std::to_string(number) + ".log"));
  const auto started = Clock::now();
  if (!life->process().start(std::chrono::seconds(60))) {
    std::fprintf(stderr, "bench-soak: the daemon did not start; its log:\n%s\n",
                 life->process().log().c_str());
    return nullptr;
  }
  for (int i = 0; i < 200; ++i) {
    if (waflow::test::http("GET", life->process().url("/healthz"), "", {}, 1000).status == 200) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  r.restart_s = secondsSince(started);
  r.poster->setUrl(life->process().url("/webhooks/wa"));
  return life;
}

// What was posted and received, by the benchmark and by the daemon's own count.
void printTraffic(Run& r) {
  const PosterCounts& p = r.poster->counts();
  std::printf(
      "\ntraffic: %llu customer messages posted, %llu acknowledged; %llu statuses posted, "
      "%llu acknowledged; %llu webhooks redelivered after their 2xx; %llu HTTP posts "
      "(%llu unanswered: daemon down or connection cut, %llu non-2xx); %llu replies "
      "accepted by the fake; %llu photos, %llu media downloads; %llu AI calls at the fake "
      "(%llu AI questions)\n",
      static_cast<unsigned long long>(r.counts.messages.load()),
      static_cast<unsigned long long>(r.counts.acked.load()),
      static_cast<unsigned long long>(r.counts.statuses.load()),
      static_cast<unsigned long long>(r.counts.statuses_acked.load()),
      static_cast<unsigned long long>(r.counts.redelivered.load()),
      static_cast<unsigned long long>(p.posts.load()),
      static_cast<unsigned long long>(p.unreached.load()),
      static_cast<unsigned long long>(p.refused.load()),
      static_cast<unsigned long long>(r.counts.replies.load()),
      static_cast<unsigned long long>(r.counts.media.load()),
      static_cast<unsigned long long>(r.fake.mediaDownloads()),
      static_cast<unsigned long long>(r.ai.requestCount()),
      static_cast<unsigned long long>(r.counts.ai.load()));
  for (std::size_t i = 0; i < r.life_checks.size(); ++i) {
    std::printf("daemon life %zu counted: %s\n", i + 1, r.life_checks[i].c_str());
  }
}

// The counts that must be 0, with examples, and the verdict; whether every reply came once and
// in order.
bool printSummary(Run& r, bool grew) {
  printTraffic(r);
  const Findings f = r.ledger.findings();
  std::printf(
      "replies: %llu expected, %llu arrived; %llu contacts never got a step's replies "
      "within %d s; the load found no contact ready for %.1f s\n",
      static_cast<unsigned long long>(f.expected), static_cast<unsigned long long>(f.arrived),
      static_cast<unsigned long long>(r.counts.stuck.load()), r.s.stuck_seconds,
      static_cast<double>(r.counts.starved_ms.load()) / 1000.0);
  std::printf(
      "\n  lost        %llu%s\n  duplicated  %llu by text (%llu after a later reply), "
      "%llu by outbox id\n  reordered   %llu\n  unexpected  %llu\n",
      static_cast<unsigned long long>(f.lost),
      f.unacknowledged > 0 ? (" (and " + std::to_string(f.unacknowledged) +
                              " replies to messages never acknowledged)")
                                 .c_str()
                           : "",
      static_cast<unsigned long long>(f.duplicated),
      static_cast<unsigned long long>(f.late_duplicates),
      static_cast<unsigned long long>(f.duplicated_ids),
      static_cast<unsigned long long>(f.reordered), static_cast<unsigned long long>(f.unexpected));
  for (const std::string& e : f.examples) {
    std::printf("    %s\n", e.c_str());
  }
  const bool clean = f.lost == 0 && f.duplicated == 0 && f.duplicated_ids == 0 &&
                     f.reordered == 0 && f.unexpected == 0;
  std::printf("\nverdict: %s; %s\n",
              clean ? "every reply once and in order" : "REPLIES LOST, DUPLICATED OR REORDERED",
              grew ? "SOMETHING KEEPS GROWING (see growth)" : "resources flat");
  return clean;
}

// The fakes' behaviour, the poster, the load and the sampler; false when the config or the
// flows do not validate.
bool setUp(Run& r) {
  const fs::path data_dir = r.s.work_dir / "data";
  r.yaml = configYaml(r.s, data_dir, r.fake, r.ai);
  if (!validate(r.s, r.yaml)) {
    return false;
  }
  r.ai.setLatency(milliseconds(r.s.ai_min_ms), milliseconds(r.s.ai_max_ms));
  waflow::test::FaultRates rates;
  rates.slow = r.s.slow_sends;
  rates.slow_delay = milliseconds(r.s.slow_send_ms);
  r.fake.setFaultRates(rates);
  r.poster = std::make_unique<Poster>(r.s.posters);
  r.load = std::make_unique<Load>(r.s, r.fake, r.ledger, *r.poster, r.counts);
  r.sampler = std::make_unique<Sampler>(data_dir, r.counts, r.ai);
  return true;
}

// The baseline: the daemon 3 s after its start, before any load.
void measureIdle(Run& r, DaemonLife& daemon) {
  std::printf("daemon started, /healthz after %.2f s\n\n", r.restart_s);
  printHeader();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  r.idle = r.sampler->take(daemon.process().pid(), 0, 0);
  printRow(r.idle, r.idle, "baseline: idle daemon 3 s after start, before any load");
  r.last_row = r.idle;
}

// kill -9, then the same daemon again at once on the same data_dir.
std::unique_ptr<DaemonLife> killAndRestart(Run& r, std::unique_ptr<DaemonLife> daemon) {
  r.life_checks.push_back(lifeChecks(daemon->process(), portNames(r, daemon->process())));
  markRow(r, *daemon, 1, "kill -9");
  r.lives.push_back({1, 0, secondsSince(r.t0)});
  daemon->process().kill9();
  daemon.reset();
  return startLife(r, r.yaml, 2);
}

// No new sessions: the ones begun finish and late replies arrive, then a moment for anything
// sent twice to show up. Then SIGTERM.
void drainAndStop(Run& r, std::unique_ptr<DaemonLife> daemon, int life) {
  r.load->run(Clock::now() + std::chrono::seconds(r.s.drain_seconds), true);
  sleepUnlessInterrupted(std::chrono::seconds(5));
  markRow(r, *daemon, life, "after the drain");
  r.life_checks.push_back(lifeChecks(daemon->process(), portNames(r, daemon->process())));
  r.feed->stop();
  r.poster->stop();
  std::printf("daemon stopped with SIGTERM: exit code %d\n", daemon->process().terminate());
}

// Growth, the logs and the verdict; whether every reply came once and in order.
bool report(Run& r) {
  const bool grew = printGrowth(r.samples, r.lives, r.idle);
  printDatabaseGrowth(r.samples, r.lives);
  std::printf("\ndaemon logs (warnings and errors):\n");
  for (const LifeSpan& l : r.lives) {
    const std::string name = "daemon" + std::to_string(l.number) + ".log";
    printLogSummary(r.s.work_dir / name, name.c_str());
  }
  return printSummary(r, grew);
}

int runSoak(Run& r) {
  if (!setUp(r)) {
    return 1;
  }
  auto daemon = startLife(r, r.yaml, 1);
  if (!daemon) {
    return 1;
  }
  measureIdle(r, *daemon);
  // The clock of the table starts with the load.
  r.t0 = Clock::now();
  r.next_row = r.s.interval;
  r.feed = std::make_unique<StatusFeed>(r.s, r.fake, r.ledger, *r.load, *r.poster, r.counts);
  std::thread pacer([&] { r.load->run(r.t0 + std::chrono::seconds(r.s.seconds), false); });
  const double end = r.s.seconds;
  int life = 1;
  sampleLoop(r, *daemon, life, r.s.kill ? end / 2 : end);
  if (r.s.kill && !g_interrupted) {
    daemon = killAndRestart(r, std::move(daemon));
    if (!daemon) {
      g_interrupted = true;
      pacer.join();
      return 1;
    }
    life = 2;
    sampleLoop(r, *daemon, life, end);
  }
  pacer.join();
  r.lives.push_back({life, r.lives.empty() ? 0 : r.lives.back().end, secondsSince(r.t0)});
  drainAndStop(r, std::move(daemon), life);
  return report(r) ? 0 : 1;
}

void onSignal(int) {
  g_interrupted = true;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  std::string waflow;
  std::string flows_dir = WAFLOW_BENCH_SOAK_FLOWS_DIR;
  CLI::App app{"Soak benchmark: the daemon under a steady mixed load, with a kill -9 half-way"};
  app.add_option("--seconds", s.seconds, "length of the load (default 600)")
      ->check(CLI::Range(20, 86400));
  app.add_option("--rate", s.rate, "customer messages per second (default 20)")
      ->check(CLI::Range(0.5, 2000.0));
  app.add_option("--contacts", s.contacts, "customers (default 25 per message a second, >= 50)")
      ->check(CLI::PositiveNumber);
  app.add_option("--interval", s.interval,
                 "seconds between table rows (default 60; a tenth of a run under 10 minutes)")
      ->check(CLI::PositiveNumber);
  app.add_option("--redeliver", s.redeliver,
                 "share of acknowledged webhooks posted again, as Meta retries (default 0.05)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--ai-min-ms", s.ai_min_ms, "the fake model's fastest answer (default 200)");
  app.add_option("--ai-max-ms", s.ai_max_ms, "the fake model's slowest answer (default 1000)");
  app.add_option("--slow-sends", s.slow_sends,
                 "share of sends the fake Graph API answers after --slow-send-ms (default 0.02)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--slow-send-ms", s.slow_send_ms,
                 "their delay (default 1500; above the channel's 30 s timeout, the send times "
                 "out although the fake accepted it)");
  app.add_option("--drain", s.drain_seconds,
                 "seconds after the load for the last replies (default 120: the in-doubt grace "
                 "after the restart is 30 s)");
  app.add_option("--stuck", s.stuck_seconds,
                 "seconds a contact waits for a step's replies before it is given up (default "
                 "180)");
  app.add_option("--posters", s.posters, "webhook connections (default 8)")
      ->check(CLI::PositiveNumber);
  app.add_option("--cache-mib", s.cache_mib,
                 "storage-sqlite's cache_mib (default: its own, 32): a small one tells whether a "
                 "growing RSS is the page cache filling up")
      ->check(CLI::Range(1, 4096));
  bool no_kill = false;
  app.add_flag("--no-kill", no_kill, "no kill -9 half-way");
  app.add_flag("--keep", s.keep, "keep the work directory (config, logs, database)");
  app.add_option("--waflow", waflow, "the waflow binary (default: next to this program)");
  app.add_option("--flows-dir", flows_dir, "the soak's flows (default tests/perf/soak/flows)");
  CLI11_PARSE(app, argc, argv);
  s.kill = !no_kill;
  if (s.contacts == 0) {
    s.contacts = std::max(50, static_cast<int>(s.rate * 25));
  }
  if (s.interval == 0) {
    s.interval = s.seconds >= 600 ? 60 : std::max(5, s.seconds / 10);
  }
  s.waflow = waflow.empty() ? fs::canonical("/proc/self/exe").parent_path() / "waflow"
                            : fs::absolute(waflow);
  s.flows_dir = fs::absolute(flows_dir);
  if (!fs::exists(s.waflow)) {
    std::fprintf(stderr, "error: %s does not exist; build the target waflow or pass --waflow\n",
                 s.waflow.c_str());
    return 2;
  }
  // DaemonProcess runs <WAFLOW_BUILD_DIR>/bin/waflow.
  ::setenv("WAFLOW_BUILD_DIR", s.waflow.parent_path().parent_path().c_str(), 1);
  // The daemon's sockets, the fakes' and the webhook connections; the daemon inherits the limit.
  waflow::perf::raiseFileLimit(static_cast<std::size_t>(s.contacts) + 1024, "--contacts");
  ::signal(SIGINT, onSignal);
  ::signal(SIGTERM, onSignal);
  ::signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  s.work_dir = fs::temp_directory_path() / ("waflow-bench-soak." + std::to_string(::getpid()));
  fs::create_directories(s.work_dir);

  std::printf("== soak benchmark: %d s at %.1f customer messages/s from %d contacts, %s ==\n",
              s.seconds, s.rate, s.contacts, s.kill ? "kill -9 and restart half-way" : "no kill");
  std::printf(
      "machine: %u cores shared by the daemon and this program (fake Graph API, fake "
      "model, webhook sender), load average %s\n",
      std::thread::hardware_concurrency(), loadAverage().c_str());
  std::printf(
      "daemon %s: channel-cloudapi -> fake Graph API, storage-sqlite, flows %s, ai-openai "
      "-> fake model (%d-%d ms), echo auto-reply; outbox defaults\n",
      s.waflow.c_str(), s.flows_dir.c_str(), s.ai_min_ms, s.ai_max_ms);
  std::printf(
      "mix of sessions: chat 35 %% (1-3 texts), order 20 %% (ask + delay + follow-up), "
      "AI 25 %%, photo 20 %%; %.0f %% of webhooks redelivered; %.0f %% of sends answered "
      "after %d ms\n",
      s.redeliver * 100, s.slow_sends * 100, s.slow_send_ms);
  std::fflush(stdout);

  int rc = 0;
  {
    Run run;
    run.s = s;
    rc = runSoak(run);
  }
  if (s.keep) {
    std::printf("work directory kept: %s\n", s.work_dir.c_str());
  } else {
    fs::remove_all(s.work_dir);
  }
  curl_global_cleanup();
  return rc;
}
