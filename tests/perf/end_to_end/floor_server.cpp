// waflow-floor-server: the least work any server can do for the end-to-end benchmark, so the
// benchmark can show what this machine allows at best. It is not waflow and must never become
// one: it checks no signature, parses nothing but the sender and the message id, keeps no
// contacts, has no outbox, runs no auto-reply logic and retries nothing.
//
// For every POSTed webhook it does what the end-to-end target demands and nothing more:
//   1. makes the body durable: one store thread commits each group of bodies at once
//      (group commit), then
//   2. answers 200 (the message is acknowledged durably), and
//   3. sends one Cloud API text message to the sink (the fake Graph API) over a pool of
//      keep-alive connections, counting the answers.
//
// Two stores: `journal` (default), a preallocated, zero-filled file written in place with one
// pwritev and one fdatasync per group, cheaper than any database; and `sqlite`, one table with
// a unique message id in WAL with synchronous=FULL, one transaction per group, marking each
// message replied in a later one: the least SQLite can do for the same guarantees. The HTTP
// parts are the minimal server's (Beast, one strand per connection, no timers).
//
// Usage: waflow-floor-server --sink http://127.0.0.1:P --phone-number-id ID --token T
//                            [--store journal|sqlite] [--threads N] [--connections N]
//                            [--dir D] [--journal-mib N]
// Prints the bound port alone on the first stdout line. GET /stats answers
// "received N\nsent N\nfailed N\n". Serves until SIGINT/SIGTERM.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include "plain_http_server.h"

using namespace waflow::bench;  // NOLINT(google-build-using-namespace): a one-file tool

namespace {

struct Counters {
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> failed{0};
};

// One webhook to make durable: the message id, the raw body, and what to do once it is.
struct Entry {
  std::string id;
  std::string body;
  std::function<void()> synced;
};

// Group commit: append() and replied() may be called from any thread; one thread takes
// everything queued, makes it durable with commit() in one go, then runs each entry's `synced`.
class GroupCommitStore {
 public:
  virtual ~GroupCommitStore() = default;

  void append(Entry entry) {
    {
      std::lock_guard lock(mutex_);
      pending_.push_back(std::move(entry));
    }
    ready_.notify_one();
  }

  // Records that the message's reply was accepted; written with the next group, unsynced on
  // its own (a lost mark only means a reply may be re-sent after a crash).
  void replied(std::string id) {
    std::lock_guard lock(mutex_);
    replied_.push_back(std::move(id));
  }

 protected:
  void startThread() {
    thread_ = std::thread([this] { loop(); });
  }

 public:
  // Commits what is queued, runs its callbacks, and ends the thread. Idempotent.
  void stopThread() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_one();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

 protected:
  virtual void commit(std::vector<Entry>& group, std::vector<std::string>& replied) = 0;

 private:
  void loop() {
    std::vector<Entry> group;
    std::vector<std::string> replied;
    while (true) {
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
        if (pending_.empty()) {
          return;
        }
        group.assign(std::make_move_iterator(pending_.begin()),
                     std::make_move_iterator(pending_.end()));
        pending_.clear();
        replied.swap(replied_);
      }
      commit(group, replied);
      for (Entry& e : group) {
        e.synced();
      }
      group.clear();
      replied.clear();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Entry> pending_;
  std::vector<std::string> replied_;
  bool stopping_ = false;
  std::thread thread_;
};

// The cheapest durable store: a circular journal in a preallocated, zero-filled file, one
// pwritev and one fdatasync per group. Reply marks are not written at all.
class JournalStore : public GroupCommitStore {
 public:
  JournalStore(const std::string& path, uint64_t bytes) : size_(bytes) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    }
    std::vector<char> zeros(1 << 20, '\0');
    for (uint64_t at = 0; at < size_; at += zeros.size()) {
      if (::pwrite(fd_, zeros.data(), zeros.size(), static_cast<off_t>(at)) < 0) {
        throw std::runtime_error("cannot fill " + path + ": " + std::strerror(errno));
      }
    }
    ::fsync(fd_);
    startThread();
  }
  ~JournalStore() override {
    stopThread();
    ::close(fd_);
  }

 private:
  void commit(std::vector<Entry>& group, std::vector<std::string>&) override {
    uint64_t bytes = 0;
    iov_.clear();
    for (Entry& e : group) {
      iov_.push_back({e.body.data(), e.body.size()});
      bytes += e.body.size();
    }
    if (offset_ + bytes > size_) {
      offset_ = 0;  // wrap around: a body is only needed until its reply is sent
    }
    for (std::size_t first = 0; first < iov_.size(); first += IOV_MAX) {
      std::size_t n = std::min<std::size_t>(IOV_MAX, iov_.size() - first);
      ssize_t w =
          ::pwritev(fd_, iov_.data() + first, static_cast<int>(n), static_cast<off_t>(offset_));
      if (w > 0) {
        offset_ += static_cast<uint64_t>(w);
      }
    }
    ::fdatasync(fd_);
  }

  const uint64_t size_;
  uint64_t offset_ = 0;
  int fd_ = -1;
  std::vector<iovec> iov_;
};

// The least SQLite can do for the same guarantees: one table, its unique message id (what
// recognises a redelivery), WAL with synchronous=FULL, one transaction per group. Reply marks
// are UPDATEs in the next group's transaction.
class SqliteStore : public GroupCommitStore {
 public:
  explicit SqliteStore(const std::string& path) {
    std::filesystem::remove(path);
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
      throw std::runtime_error("cannot open " + path + ": " + sqlite3_errmsg(db_));
    }
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec(
        "CREATE TABLE inbox (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
        "body TEXT NOT NULL, replied INTEGER NOT NULL DEFAULT 0)");
    insert_ = prepare("INSERT OR IGNORE INTO inbox (id, body) VALUES (?1, ?2)");
    mark_ = prepare("UPDATE inbox SET replied = 1 WHERE id = ?1");
    startThread();
  }
  ~SqliteStore() override {
    stopThread();
    sqlite3_finalize(insert_);
    sqlite3_finalize(mark_);
    sqlite3_close(db_);
  }

 private:
  void exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string(sql) + ": " + sqlite3_errmsg(db_));
    }
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string(sql) + ": " + sqlite3_errmsg(db_));
    }
    return stmt;
  }
  static void run(sqlite3_stmt* stmt) {
    sqlite3_step(stmt);
    sqlite3_reset(stmt);
  }

  void commit(std::vector<Entry>& group, std::vector<std::string>& replied) override {
    exec("BEGIN IMMEDIATE");
    for (const std::string& id : replied) {
      sqlite3_bind_text(mark_, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      run(mark_);
    }
    for (const Entry& e : group) {
      sqlite3_bind_text(insert_, 1, e.id.data(), static_cast<int>(e.id.size()), SQLITE_STATIC);
      sqlite3_bind_text(insert_, 2, e.body.data(), static_cast<int>(e.body.size()), SQLITE_STATIC);
      run(insert_);
    }
    exec("COMMIT");
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* mark_ = nullptr;
};

// A reply to send: the recipient and the inbound message it answers.
struct Reply {
  std::string to;
  std::string message_id;
};

// One keep-alive connection to the sink. Sends one queued message at a time; when the queue
// is empty it parks itself in the pool until send() wakes it.
class SinkPool;
class SinkConnection : public std::enable_shared_from_this<SinkConnection> {
 public:
  SinkConnection(asio::io_context& ioc, SinkPool& pool)
      : stream_(asio::make_strand(ioc)), pool_(pool) {}
  void start(const tcp::resolver::results_type& endpoints);
  void next();

 private:
  void onWrite(beast::error_code ec, std::size_t);
  void onRead(beast::error_code ec, std::size_t);

  tcp::socket stream_;
  SinkPool& pool_;
  std::string message_id_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

class SinkPool {
 public:
  SinkPool(asio::io_context& ioc, const std::string& host, const std::string& port,
           std::string target, std::string token, Counters& counters, int connections,
           GroupCommitStore& store)
      : store_(store),
        target_(std::move(target)),
        authorization_("Bearer " + std::move(token)),
        host_(host),
        counters_(counters) {
    tcp::resolver resolver(ioc);
    auto endpoints = resolver.resolve(host, port);
    for (int i = 0; i < connections; ++i) {
      auto c = std::make_shared<SinkConnection>(ioc, *this);
      c->start(endpoints);
      idle_.push_back(c);
    }
  }

  // Queues a text message.
  void send(Reply reply) {
    std::shared_ptr<SinkConnection> wake;
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(reply));
      if (!idle_.empty()) {
        wake = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (wake) {
      wake->next();
    }
  }

  // The next recipient for `c`, or false after parking `c` as idle.
  bool take(const std::shared_ptr<SinkConnection>& c, Reply& reply) {
    std::lock_guard lock(mutex_);
    if (queue_.empty()) {
      idle_.push_back(c);
      return false;
    }
    reply = std::move(queue_.front());
    queue_.pop_front();
    return true;
  }

  const std::string& target() const { return target_; }
  const std::string& authorization() const { return authorization_; }
  const std::string& host() const { return host_; }
  Counters& counters() { return counters_; }
  GroupCommitStore& store() { return store_; }

 private:
  GroupCommitStore& store_;
  const std::string target_;
  const std::string authorization_;
  const std::string host_;
  Counters& counters_;
  std::mutex mutex_;
  std::deque<Reply> queue_;
  std::vector<std::shared_ptr<SinkConnection>> idle_;
};

void SinkConnection::start(const tcp::resolver::results_type& endpoints) {
  asio::connect(stream_, endpoints);
  stream_.set_option(tcp::no_delay(true));
}

void SinkConnection::next() {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    Reply reply;
    if (!self->pool_.take(self, reply)) {
      return;
    }
    self->message_id_ = std::move(reply.message_id);
    self->req_ = {http::verb::post, self->pool_.target(), 11};
    self->req_.set(http::field::host, self->pool_.host());
    self->req_.set(http::field::authorization, self->pool_.authorization());
    self->req_.set(http::field::content_type, "application/json");
    self->req_.body() =
        R"({"messaging_product":"whatsapp","recipient_type":"individual","to":")" + reply.to +
        R"(","type":"text","text":{"body":"Terima kasih, pesan Anda sudah kami terima."}})";
    self->req_.prepare_payload();
    http::async_write(self->stream_, self->req_,
                      beast::bind_front_handler(&SinkConnection::onWrite, self));
  });
}

void SinkConnection::onWrite(beast::error_code ec, std::size_t) {
  if (ec) {
    pool_.counters().failed.fetch_add(1);
    return;  // the connection is gone; the floor does not reconnect
  }
  res_ = {};
  http::async_read(stream_, buffer_, res_,
                   beast::bind_front_handler(&SinkConnection::onRead, shared_from_this()));
}

void SinkConnection::onRead(beast::error_code ec, std::size_t) {
  if (ec) {
    pool_.counters().failed.fetch_add(1);
    return;
  }
  if (res_.result() == http::status::ok) {
    pool_.store().replied(std::move(message_id_));
    pool_.counters().sent.fetch_add(1);
  } else {
    pool_.counters().failed.fetch_add(1);
  }
  next();
}

// The value of the first "<key>":"..." at or after `from` in the body, or "" (the floor
// parses nothing else).
std::string_view fieldAfter(std::string_view body, std::string_view key, std::size_t& from) {
  std::string quoted = "\"" + std::string(key) + "\":\"";
  std::size_t at = body.find(quoted, from);
  if (at == std::string_view::npos) {
    return {};
  }
  at += quoted.size();
  from = body.find('"', at);
  return body.substr(at, from - at);
}

class Session : public PlainSession<Session> {
 public:
  Session(tcp::socket&& socket, GroupCommitStore& store, SinkPool& sink, Counters& counters)
      : PlainSession(std::move(socket)), store_(store), sink_(sink), counters_(counters) {}

  void onRequest() {
    if (request().method() == http::verb::get) {
      respond("received " + std::to_string(counters_.received.load()) + "\nsent " +
              std::to_string(counters_.sent.load()) + "\nfailed " +
              std::to_string(counters_.failed.load()) + "\n");
      return;
    }
    // A Cloud API message: ..."messages":[{"from":"<sender>","id":"<message id>",...
    std::size_t at = 0;
    Reply reply;
    reply.to = fieldAfter(request().body(), "from", at);
    reply.message_id = fieldAfter(request().body(), "id", at);
    std::string id = reply.message_id;
    store_.append(Entry{std::move(id), std::move(request().body()),
                        [self = shared_from_this(), reply = std::move(reply)]() mutable {
                          self->counters_.received.fetch_add(1);
                          self->sink_.send(std::move(reply));
                          asio::post(self->executor(), [self] { self->respond("OK"); });
                        }});
  }

 private:
  GroupCommitStore& store_;
  SinkPool& sink_;
  Counters& counters_;
};

[[noreturn]] void usage(const std::string& error) {
  std::cerr << "waflow-floor-server: " << error << "\n"
            << "usage: waflow-floor-server --sink http://HOST:PORT --phone-number-id ID --token T\n"
               "         [--store journal|sqlite] [--threads N] [--connections N] [--dir D]\n"
               "         [--journal-mib N]\n";
  std::exit(2);
}

long parseNumber(std::string_view flag, const std::string& text, long min, long max) {
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || v < min || v > max) {
    usage(std::string(flag) + " expects a number between " + std::to_string(min) + " and " +
          std::to_string(max) + ", got '" + text + "'");
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::string sink, phone_number_id, token, dir = ".", store_kind = "journal";
  long threads = 2, connections = 64, journal_mib = 512;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (i + 1 >= argc) {
      usage("missing value after " + std::string(arg));
    }
    std::string value = argv[++i];
    if (arg == "--sink") {
      sink = value;
    } else if (arg == "--phone-number-id") {
      phone_number_id = value;
    } else if (arg == "--token") {
      token = value;
    } else if (arg == "--store") {
      store_kind = value;
      if (store_kind != "journal" && store_kind != "sqlite") {
        usage("--store is journal or sqlite, got '" + value + "'");
      }
    } else if (arg == "--dir") {
      dir = value;
    } else if (arg == "--threads") {
      threads = parseNumber(arg, value, 1, 256);
    } else if (arg == "--connections") {
      connections = parseNumber(arg, value, 1, 4096);
    } else if (arg == "--journal-mib") {
      journal_mib = parseNumber(arg, value, 1, 65536);
    } else {
      usage("unknown option " + std::string(arg));
    }
  }
  constexpr std::string_view kScheme = "http://";
  if (!sink.starts_with(kScheme) || phone_number_id.empty() || token.empty()) {
    usage("--sink http://HOST:PORT, --phone-number-id and --token are required");
  }
  std::string authority = sink.substr(kScheme.size());
  authority = authority.substr(0, authority.find('/'));
  std::size_t colon = authority.rfind(':');
  if (colon == std::string::npos) {
    usage("--sink needs a port: " + sink);
  }

  try {
    Counters counters;
    asio::io_context ioc(static_cast<int>(threads));
    std::unique_ptr<GroupCommitStore> store;
    if (store_kind == "sqlite") {
      store = std::make_unique<SqliteStore>(dir + "/floor.db");
    } else {
      store = std::make_unique<JournalStore>(dir + "/floor-journal",
                                             static_cast<uint64_t>(journal_mib) << 20);
    }
    SinkPool pool(ioc, authority.substr(0, colon), authority.substr(colon + 1),
                  "/v21.0/" + phone_number_id + "/messages", token, counters,
                  static_cast<int>(connections), *store);
    auto listener = std::make_shared<PlainListener>(
        ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), [&](tcp::socket&& socket) {
          std::make_shared<Session>(std::move(socket), *store, pool, counters)->run();
        });
    std::cout << listener->port() << std::endl;
    listener->run();

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&ioc](beast::error_code, int) { ioc.stop(); });
    std::vector<std::thread> workers;
    for (long i = 1; i < threads; ++i) {
      workers.emplace_back([&ioc] { ioc.run(); });
    }
    ioc.run();
    for (auto& t : workers) {
      t.join();
    }
    store->stopThread();  // its last callbacks still need the pool
  } catch (const std::exception& e) {
    std::cerr << "waflow-floor-server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
