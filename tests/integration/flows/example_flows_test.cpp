// End-to-end tests of the shipped example flows (flows/*.yaml with scripts/*.lua): the real
// `waflow` daemon with the sandbox channel and the mock AI (which answers "You said: <text>"),
// each conversation sent as Cloud API webhooks and read back from the sandbox's mailbox as a
// customer would see it. The order flow's payment service is a fake on 127.0.0.1.
#include "daemon_process.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace waflow::test {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using Json = nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kAdminToken = "c47a9e2f0b5d13e8a6f4c2d09b7e1a35";
constexpr const char* kPaymentToken = "pay-secret-123";

// The embedded default's channel and AI, with the repository's flows and scripts. Pacing per
// contact is off: a conversation here sends more than the 5 messages Meta allows back to back.
std::string exampleConfig() {
  const fs::path source = WAFLOW_SOURCE_DIR;
  std::ostringstream yaml;
  yaml << "log: { level: info }\n"
       << "channels: { sandbox: { plugin: channel-sandbox } }\n"
       << "ai: { mock: { plugin: ai-mock } }\n"
       << "auto_reply: { mode: ai, ai: mock }\n"
       << "flows_dir: " << (source / "flows").string() << "\n"
       << "scripts_dir: " << (source / "scripts").string() << "\n"
       << "outbox: { recipient_burst: 0 }\n"
       << "flows: { admin_token: " << kAdminToken << ", watch: false }\n";
  return yaml.str();
}

// A Cloud API webhook with one message of any type from `from`.
std::string webhookWith(const std::string& from, const std::string& name, Json message) {
  message["from"] = from;
  message["timestamp"] = std::to_string(std::time(nullptr));
  Json value = {{"messaging_product", "whatsapp"},
                {"metadata", {{"display_phone_number", "15550001234"}, {"phone_number_id", "PN"}}},
                {"contacts", {{{"profile", {{"name", name}}}, {"wa_id", from}}}},
                {"messages", {message}}};
  Json body = {
      {"object", "whatsapp_business_account"},
      {"entry", {{{"id", "WABA"}, {"changes", {{{"field", "messages"}, {"value", value}}}}}}}};
  return body.dump();
}

// The local date in Asia/Jakarta (UTC+7 all year) `days` from now.
std::tm jakartaDate(int days) {
  std::time_t t = std::time(nullptr) + 7 * 3600 + static_cast<std::time_t>(days) * 86400;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return tm;
}

std::string format(const std::tm& tm, const char* pattern) {
  char buffer[64];
  std::strftime(buffer, sizeof buffer, pattern, &tm);
  return buffer;
}

// One customer talking to the daemon: sends messages, reads the replies addressed to them.
class Chat {
 public:
  Chat(const DaemonProcess& daemon, std::string wa_id, std::string name = "Rina")
      : daemon_(daemon), wa_id_(std::move(wa_id)), name_(std::move(name)) {}

  const std::string& waId() const { return wa_id_; }

  void say(const std::string& text) { post({{"type", "text"}, {"text", {{"body", text}}}}); }

  // Taps a button (kind "button_reply") or picks a list row (kind "list_reply").
  void tap(const std::string& kind, const std::string& id, const std::string& title) {
    post({{"type", "interactive"},
          {"interactive", {{"type", kind}, {kind, {{"id", id}, {"title", title}}}}}});
  }

  // The next `count` replies; fewer when they did not arrive within 10 s.
  std::vector<Json> replies(size_t count, std::chrono::milliseconds within = 10s) {
    auto deadline = std::chrono::steady_clock::now() + within;
    while (pending_.size() < count && std::chrono::steady_clock::now() < deadline) {
      fetch(1);
    }
    std::vector<Json> out;
    while (!pending_.empty() && out.size() < count) {
      out.push_back(pending_.front());
      pending_.pop_front();
    }
    return out;
  }

  Json reply() {
    auto one = replies(1);
    return one.empty() ? Json() : one.front();
  }

  // Every reply that arrives within `period` (the bot should stay quiet: expect none).
  std::vector<Json> quiet(std::chrono::milliseconds period = 1500ms) {
    auto deadline = std::chrono::steady_clock::now() + period;
    while (std::chrono::steady_clock::now() < deadline) {
      fetch(1);
    }
    std::vector<Json> out(pending_.begin(), pending_.end());
    pending_.clear();
    return out;
  }

 private:
  void post(Json message) {
    message["id"] = "wamid." + wa_id_ + "." + std::to_string(++sent_);
    auto r = http("POST", daemon_.url("/webhooks/sandbox"), webhookWith(wa_id_, name_, message),
                  {"Content-Type: application/json"});
    ASSERT_EQ(r.status, 200) << r.body << r.error;
  }

  void fetch(int wait_s) {
    auto r = http("GET", daemon_.url("/webhooks/sandbox?replies_for=" + wa_id_ + "&after=" +
                                     std::to_string(after_) + "&wait=" + std::to_string(wait_s)));
    ASSERT_EQ(r.status, 200) << r.body << r.error;
    Json j = Json::parse(r.body);
    for (auto& reply : j["replies"]) {
      pending_.push_back(reply);
    }
    after_ = j["next"].get<uint64_t>();
  }

  const DaemonProcess& daemon_;
  std::string wa_id_;
  std::string name_;
  int sent_ = 0;
  uint64_t after_ = 0;
  std::deque<Json> pending_;
};

std::string text(const Json& reply) {
  return reply.is_object() && reply.contains("text") && reply["text"].is_string()
             ? reply["text"].get<std::string>()
             : std::string();
}

std::string texts(const std::vector<Json>& replies) {
  std::string all;
  for (const auto& r : replies) {
    all += r.dump() + "\n";
  }
  return all;
}

// A row of the contacts table, read from the daemon's SQLite file (after it stopped).
struct StoredContact {
  Json attributes;
  Json tags;
};

StoredContact storedContact(const DaemonProcess& daemon, const std::string& wa_id) {
  StoredContact c;
  sqlite3* db = nullptr;
  const std::string path = (daemon.dir() / "data" / "plugins" / "storage" / "waflow.db").string();
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path;
    sqlite3_close(db);
    return c;
  }
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT attributes, tags FROM contacts WHERE channel = 'sandbox' AND "
                     "contact = ?",
                     -1, &stmt, nullptr);
  sqlite3_bind_text(stmt, 1, wa_id.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    c.attributes = Json::parse(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    c.tags = Json::parse(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)));
  } else {
    ADD_FAILURE() << "no contact " << wa_id << " in " << path;
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return c;
}

// The shop's payment service: POST /v1/payment-links with the order as JSON and the shop's
// token; answers {order_id, url, amount}, or a fixed error status when told to fail. A blocking
// HTTP/1.1 server on its own thread, one request per connection.
class FakePaymentService {
 public:
  struct Request {
    std::string method;
    std::string path;
    std::string authorization;
    Json body;
  };

  FakePaymentService() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 16) != 0) {
      throw std::runtime_error("the fake payment service cannot listen on 127.0.0.1");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  ~FakePaymentService() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // 0: answer normally; otherwise answer every request with this status.
  void failWith(int status) { fail_status_ = status; }

  std::vector<Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) {
        continue;
      }
      int conn = ::accept(fd_, nullptr, nullptr);
      if (conn >= 0) {
        handle(conn);
        ::close(conn);
      }
    }
  }

  void handle(int conn) {
    std::string in;
    char buffer[4096];
    size_t header_end = std::string::npos;
    size_t content_length = 0;
    for (;;) {
      if (header_end != std::string::npos && in.size() >= header_end + 4 + content_length) {
        break;
      }
      pollfd p{conn, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) {
        return;
      }
      ssize_t n = ::recv(conn, buffer, sizeof buffer, 0);
      if (n <= 0) {
        return;
      }
      in.append(buffer, static_cast<size_t>(n));
      if (header_end == std::string::npos && (header_end = in.find("\r\n\r\n")) != in.npos) {
        content_length = static_cast<size_t>(std::stoul(header(in, "content-length", "0")));
      }
    }
    Request r;
    std::istringstream first_line(in.substr(0, in.find("\r\n")));
    first_line >> r.method >> r.path;
    r.authorization = header(in.substr(0, header_end), "authorization", "");
    r.body = Json::parse(in.substr(header_end + 4, content_length), nullptr, false);
    std::string answer = respond(r);
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(std::move(r));
    }
    ::send(conn, answer.data(), answer.size(), MSG_NOSIGNAL);
  }

  std::string respond(const Request& r) {
    int status = 201;
    Json body;
    if (fail_status_ != 0) {
      status = fail_status_;
      body = {{"error", "the payment service is down"}};
    } else if (r.method != "POST" || r.path != "/v1/payment-links") {
      status = 404;
      body = {{"error", "no route " + r.method + " " + r.path}};
    } else if (r.authorization != std::string("Bearer ") + kPaymentToken) {
      status = 401;
      body = {{"error", "bad token"}};
    } else if (!r.body.is_object() || !r.body["quantity"].is_number_integer() ||
               !r.body["unit_price"].is_number() || !r.body["product"].is_string() ||
               !r.body["customer"].is_string()) {
      status = 422;
      body = {{"error", "expected {product, quantity, unit_price, customer}"}};
    } else {
      int n = ++orders_;
      std::string id = "ORD-" + std::to_string(1000 + n);
      body = {{"order_id", id},
              {"url", "https://pay.test/" + id},
              {"amount", r.body["quantity"].get<int64_t>() * r.body["unit_price"].get<int64_t>()}};
    }
    std::string text = body.dump();
    return "HTTP/1.1 " + std::to_string(status) +
           " X\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
           std::to_string(text.size()) + "\r\n\r\n" + text;
  }

  static std::string header(const std::string& head, const std::string& name,
                            const std::string& fallback) {
    std::regex pattern("\r\n" + name + ":[ \t]*([^\r]*)", std::regex::icase);
    std::smatch m;
    return std::regex_search(head, m, pattern) ? m[1].str() : fallback;
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> fail_status_{0};
  int orders_ = 0;
  mutable std::mutex mutex_;
  std::vector<Request> requests_;
};

HttpResult postEvent(const DaemonProcess& daemon, const std::string& event, const Json& data,
                     const std::string& contact) {
  Json body = {{"event", event}, {"data", data}, {"channel", "sandbox"}, {"contact", contact}};
  return http(
      "POST", daemon.url("/api/events"), body.dump(),
      {"Content-Type: application/json", std::string("Authorization: Bearer ") + kAdminToken});
}

// The shop is open around the clock.
std::map<std::string, std::string> alwaysOpen() {
  return {{"SHOP_DAYS", "daily"}, {"SHOP_OPENS", "00:00"}, {"SHOP_CLOSES", "24:00"}};
}

// ---- validate -------------------------------------------------------------------------------

TEST(ExampleFlows, ValidateAcceptsTheShippedExamplesWithoutWarnings) {
  DaemonProcess d(exampleConfig());  // only for its directory and config file
  auto r = runCommand(
      {waflowBinary().string(), "validate", "-c", (d.dir() / "waflow.yaml").string()}, "", d.dir());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out + r.err, Not(HasSubstr("warning"))) << r.out << r.err;
}

// ---- 1. customer service --------------------------------------------------------------------

TEST(ExampleFlows, CustomerServiceAnswersTheUsualQuestionsAndHandsOver) {
  DaemonProcess d(exampleConfig(), {}, alwaysOpen());
  ASSERT_TRUE(d.start()) << d.log();
  Chat rina(d, "6281100000001");

  // The first message is greeted, then answered from the FAQ.
  rina.say("halo, jam buka?");
  auto r = rina.replies(2);
  ASSERT_EQ(r.size(), 2u) << texts(r) << d.log();
  EXPECT_THAT(text(r[0]), MatchesRegex("(Halo|Hai) Rina! Selamat datang di Toko Kue Bu Sari .*"));
  EXPECT_EQ(text(r[1]),
            "Kami buka Senin-Sabtu pukul 08.00-20.00 WIB. Minggu dan tanggal merah tutup.");

  // Greeted once only: the price list comes alone, as a list message with the four products.
  rina.say("berapa harganya kak");
  Json list = rina.reply();
  EXPECT_EQ(list["type"], "interactive") << list.dump();
  EXPECT_EQ(text(list), "Ini daftar harga kami, silakan pilih:");
  const Json& interactive = list["payload"];
  EXPECT_EQ(interactive["type"], "list") << list.dump();
  EXPECT_EQ(interactive["footer"]["text"], "Harga sudah termasuk kemasan");
  EXPECT_EQ(interactive["action"]["button"], "Lihat menu");
  std::vector<std::string> rows;
  for (const auto& section : interactive["action"]["sections"]) {
    for (const auto& row : section["rows"]) {
      rows.push_back(row["id"].get<std::string>());
    }
  }
  EXPECT_THAT(rows, ::testing::ElementsAre("bolu-pandan", "black-forest", "nastar", "kastengel"));
  EXPECT_EQ(interactive["action"]["sections"][1]["rows"][0]["description"], "Rp120.000");

  rina.tap("list_reply", "nastar", "Nastar 500 g");
  EXPECT_EQ(text(rina.reply()),
            "Pilihan yang bagus! Untuk memesan Nastar 500 g, ketik *admin* ya.");

  rina.say("alamatnya dimana");
  Json map = rina.reply();
  EXPECT_EQ(map["type"], "image") << map.dump();
  EXPECT_EQ(map["payload"]["link"], "https://toko-bu-sari.example/peta.jpg") << map.dump();
  EXPECT_EQ(map["payload"]["caption"],
            "Alamat kami: Jl. Melati No. 12, Bandung. Ini peta ke toko kami.");

  // Anything else: the AI answers and asks whether that helped.
  rina.say("apakah kuenya bisa dikirim ke Cimahi?");
  r = rina.replies(2);
  ASSERT_EQ(r.size(), 2u) << texts(r) << d.log();
  EXPECT_EQ(text(r[0]), "You said: apakah kuenya bisa dikirim ke Cimahi?");
  EXPECT_EQ(r[1]["type"], "interactive");
  EXPECT_EQ(text(r[1]), "Apakah jawaban ini membantu?");
  EXPECT_EQ(r[1]["payload"]["type"], "button");
  EXPECT_EQ(r[1]["payload"]["action"]["buttons"][1]["reply"]["id"], "tidak-membantu");

  // A new question instead of an answer is answered, not swallowed by the question.
  rina.say("jam buka hari minggu?");
  EXPECT_THAT(text(rina.reply()), HasSubstr("Kami buka Senin-Sabtu"));

  // "Ya, membantu" is thanks enough: nothing more is said.
  rina.say("bisa request kue tanpa gula?");
  ASSERT_EQ(rina.replies(2).size(), 2u) << d.log();
  rina.tap("button_reply", "membantu", "Ya, membantu");
  EXPECT_TRUE(rina.quiet(1s).empty());

  // The first unhelpful answer gets an apology; the second hands the chat to a person.
  rina.say("kue ulang tahun bisa custom tulisan?");
  ASSERT_EQ(rina.replies(2).size(), 2u) << d.log();
  rina.tap("button_reply", "tidak-membantu", "Tidak membantu");
  EXPECT_THAT(text(rina.reply()), HasSubstr("Maaf ya Kak. Coba tulis pertanyaannya"));

  rina.say("bisa bayar pakai qris?");
  r = rina.replies(2);
  ASSERT_EQ(r.size(), 2u) << texts(r) << d.log();
  EXPECT_EQ(text(r[0]), "You said: bisa bayar pakai qris?");
  rina.tap("button_reply", "tidak-membantu", "Tidak membantu");
  EXPECT_EQ(text(rina.reply()),
            "Maaf belum bisa membantu 🙏 Admin kami akan melanjutkan percakapan ini.");

  // A person has the chat now: the bot stays quiet, whatever is written.
  rina.say("halo? jam buka?");
  auto late = rina.quiet();
  EXPECT_TRUE(late.empty()) << texts(late);

  // Asking for a person hands over straight away.
  Chat budi(d, "6281100000002", "Budi");
  budi.say("saya mau bicara dengan admin");
  r = budi.replies(2);
  ASSERT_EQ(r.size(), 2u) << texts(r) << d.log();
  EXPECT_THAT(text(r[0]), MatchesRegex("(Halo|Hai) Budi! .*"));
  EXPECT_EQ(text(r[1]), "Baik Kak, admin kami segera membalas. Mohon ditunggu 🙏");
  budi.say("berapa harganya?");
  late = budi.quiet();
  EXPECT_TRUE(late.empty()) << texts(late);

  EXPECT_EQ(d.terminate(), 0) << d.log();
  StoredContact stored = storedContact(d, rina.waId());
  EXPECT_EQ(stored.attributes["greeted"], true) << stored.attributes.dump();
  EXPECT_EQ(stored.attributes["unhelpful"], 2) << stored.attributes.dump();
}

TEST(ExampleFlows, CustomerServiceOnlySaysItIsClosedOutsideOpeningHours) {
  // Open only on the day after tomorrow (in Jakarta): closed now, whatever the time.
  static const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  std::string day = kDays[jakartaDate(2).tm_wday];
  DaemonProcess d(exampleConfig(), {},
                  {{"SHOP_DAYS", day}, {"SHOP_OPENS", "00:00"}, {"SHOP_CLOSES", "24:00"}});
  ASSERT_TRUE(d.start()) << d.log();
  Chat rina(d, "6281100000003");
  rina.say("halo, berapa harganya?");
  EXPECT_EQ(text(rina.reply()),
            "Terima kasih sudah menghubungi kami. Toko sedang tutup (buka Senin-Sabtu "
            "08.00-20.00 WIB); pesan Kakak kami balas besok pagi.")
      << d.log();
  auto more = rina.quiet();
  EXPECT_TRUE(more.empty()) << texts(more);

  rina.say("kue apa saja yang ada?");
  EXPECT_THAT(text(rina.reply()), HasSubstr("Toko sedang tutup"));
  more = rina.quiet(1s);
  EXPECT_TRUE(more.empty()) << texts(more);
  EXPECT_EQ(d.terminate(), 0) << d.log();
}

// ---- 2. lead qualification ------------------------------------------------------------------

TEST(ExampleFlows, LeadQualificationAsksChecksGradesAndFollowsUp) {
  std::map<std::string, std::string> env = alwaysOpen();
  env["LEAD_FOLLOW_UP"] = "2s";
  DaemonProcess d(exampleConfig(), {}, env);
  ASSERT_TRUE(d.start()) << d.log();
  const std::string year = std::to_string(jakartaDate(0).tm_year + 1900 + 1);

  Chat rina(d, "6281200000001");
  rina.say("mau pesan catering");
  EXPECT_EQ(text(rina.reply()), "Halo! Dengan siapa kami berbicara?") << d.log();
  rina.say("12345");
  EXPECT_EQ(text(rina.reply()), "Maaf, boleh tulis nama Kakak saja? Contoh: Rina");
  rina.say("rina");
  EXPECT_EQ(text(rina.reply()),
            "Terima kasih Rina. Untuk tanggal berapa acaranya? (contoh: 17/08/2026)");
  rina.say("17/08/" + year);
  EXPECT_EQ(text(rina.reply()), "Kira-kira berapa tamu yang datang?");
  rina.say("banyak");
  EXPECT_EQ(text(rina.reply()),
            "Tulis jumlah tamu dengan angka ya, antara 10 dan 2000. Contoh: 150");
  rina.say("150");
  Json thanks = rina.reply();
  auto thanked_at = std::chrono::steady_clock::now();
  EXPECT_EQ(text(thanks), "Terima kasih! Untuk 150 tamu pada " + year +
                              "-08-17, tim kami mengirim penawaran hari ini.");

  // Silence: the follow-up comes after LEAD_FOLLOW_UP.
  Json follow_up = rina.reply();
  EXPECT_EQ(text(follow_up),
            "Halo Rina, apakah penawaran kami sudah diterima? Ada yang bisa dibantu?")
      << d.log();
  EXPECT_GE(std::chrono::steady_clock::now() - thanked_at, 1500ms);

  // A lead for an event soon; writing before the follow-up is due cancels it.
  std::string soon = format(jakartaDate(10), "%d/%m/%Y");
  Chat budi(d, "6281200000002", "Budi");
  budi.say("info prasmanan dong");
  EXPECT_EQ(text(budi.reply()), "Halo! Dengan siapa kami berbicara?");
  budi.say("Budi Santoso");
  EXPECT_THAT(text(budi.reply()), HasSubstr("Terima kasih Budi Santoso."));
  budi.say(soon);
  EXPECT_EQ(text(budi.reply()), "Kira-kira berapa tamu yang datang?");
  budi.say("200 orang");
  EXPECT_THAT(text(budi.reply()),
              HasSubstr("Untuk 200 tamu pada " + format(jakartaDate(10), "%Y-%m-%d")));
  budi.say("oke, ditunggu ya");  // answered by customer service
  auto later = budi.quiet(3500ms);
  for (const auto& r : later) {
    EXPECT_THAT(text(r), Not(HasSubstr("apakah penawaran kami"))) << texts(later);
  }

  EXPECT_EQ(d.terminate(), 0) << d.log();
  StoredContact warm = storedContact(d, rina.waId());
  EXPECT_THAT(warm.tags.dump(), HasSubstr("\"lead-warm\"")) << warm.tags.dump();
  EXPECT_EQ(warm.attributes["name"], "Rina");
  EXPECT_EQ(warm.attributes["event_date"], year + "-08-17");
  EXPECT_EQ(warm.attributes["guests"], 150);
  StoredContact hot = storedContact(d, budi.waId());
  EXPECT_THAT(hot.tags.dump(), HasSubstr("\"lead-hot\"")) << hot.tags.dump();
}

// ---- 3. order and payment -------------------------------------------------------------------

TEST(ExampleFlows, OrderCreatesAPaymentLinkAndConfirmsThePayment) {
  FakePaymentService payments;
  std::map<std::string, std::string> env = alwaysOpen();
  env["PAYMENT_API"] = payments.baseUrl();
  env["PAYMENT_TOKEN"] = kPaymentToken;
  DaemonProcess d(exampleConfig(), {}, env);
  ASSERT_TRUE(d.start()) << d.log();

  Chat rina(d, "6281300000001");
  rina.say("order");
  auto r = rina.replies(2);
  ASSERT_EQ(r.size(), 2u) << texts(r) << d.log();
  EXPECT_EQ(r[0]["type"], "interactive");
  EXPECT_EQ(r[0]["payload"]["type"], "list");
  EXPECT_EQ(r[0]["payload"]["action"]["sections"][0]["rows"][0]["id"], "kopi");
  EXPECT_EQ(r[0]["payload"]["action"]["sections"][0]["rows"][1]["id"], "teh");
  EXPECT_EQ(text(r[1]), "Produk apa yang Kakak pilih?");
  rina.say("susu");
  EXPECT_EQ(text(rina.reply()), "Maaf, pilih *kopi* atau *teh* ya.");
  rina.say("kopi");
  EXPECT_EQ(text(rina.reply()), "Berapa bungkus?");
  rina.say("2");
  Json link = rina.reply();
  EXPECT_EQ(text(link), "Total: Rp90000. Bayar di sini: https://pay.test/ORD-1001") << d.log();
  EXPECT_EQ(link["type"], "interactive");
  EXPECT_EQ(link["payload"]["action"]["buttons"][0]["reply"]["id"], "batal");

  auto calls = payments.requests();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].authorization, std::string("Bearer ") + kPaymentToken);
  EXPECT_EQ(calls[0].body["product"], "kopi");
  EXPECT_EQ(calls[0].body["quantity"], 2);
  EXPECT_EQ(calls[0].body["unit_price"], 45000);
  EXPECT_EQ(calls[0].body["customer"], rina.waId());

  // Only the payment of this order confirms it.
  EXPECT_EQ(postEvent(d, "payment.paid", {{"order_id", "ORD-9999"}}, rina.waId()).status, 202);
  auto early = rina.quiet(1s);
  EXPECT_TRUE(early.empty()) << texts(early);
  EXPECT_EQ(postEvent(d, "payment.paid", {{"order_id", "ORD-1001"}}, rina.waId()).status, 202);
  EXPECT_EQ(text(rina.reply()),
            "Pembayaran diterima, terima kasih! Pesanan #ORD-1001 kami kirim hari ini 📦");

  // Picking from the list works as typing; the cancel button ends the order.
  Chat budi(d, "6281300000002", "Budi");
  budi.say("mau beli");
  ASSERT_EQ(budi.replies(2).size(), 2u);
  budi.tap("list_reply", "teh", "Teh Melati 100 g");
  EXPECT_EQ(text(budi.reply()), "Berapa bungkus?");
  budi.say("3 bungkus");
  EXPECT_EQ(text(budi.reply()), "Total: Rp90000. Bayar di sini: https://pay.test/ORD-1002");
  calls = payments.requests();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].body["product"], "teh");
  EXPECT_EQ(calls[1].body["quantity"], 3);
  EXPECT_EQ(calls[1].body["unit_price"], 30000);
  budi.tap("button_reply", "batal", "Batalkan pesanan");
  EXPECT_EQ(text(budi.reply()), "Pesanan dibatalkan. Ketik *order* kapan saja untuk memesan lagi.");
  EXPECT_EQ(postEvent(d, "payment.paid", {{"order_id", "ORD-1002"}}, budi.waId()).status, 202);
  auto after_cancel = budi.quiet(1s);
  EXPECT_TRUE(after_cancel.empty()) << texts(after_cancel);

  EXPECT_EQ(d.terminate(), 0) << d.log();
  StoredContact stored = storedContact(d, rina.waId());
  EXPECT_EQ(stored.attributes["last_order"], "ORD-1001") << stored.attributes.dump();
  EXPECT_EQ(stored.attributes["orders"], 1) << stored.attributes.dump() << d.log();
}

TEST(ExampleFlows, OrderHandsOverWhenThePaymentServiceFails) {
  FakePaymentService payments;
  payments.failWith(500);
  std::map<std::string, std::string> env = alwaysOpen();
  env["PAYMENT_API"] = payments.baseUrl();
  env["PAYMENT_TOKEN"] = kPaymentToken;
  DaemonProcess d(exampleConfig(), {}, env);
  ASSERT_TRUE(d.start()) << d.log();

  Chat rina(d, "6281300000003");
  rina.say("order");
  ASSERT_EQ(rina.replies(2).size(), 2u) << d.log();
  rina.say("teh");
  EXPECT_EQ(text(rina.reply()), "Berapa bungkus?");
  rina.say("1");
  EXPECT_EQ(text(rina.reply()),
            "Maaf, pembuatan link pembayaran sedang gangguan. Admin kami akan membantu.")
      << d.log();
  EXPECT_EQ(payments.requests().size(), 3u) << d.log();  // the first try and 2 retries

  // Handed to the cashier team: the bot no longer answers.
  rina.say("order");
  auto late = rina.quiet();
  EXPECT_TRUE(late.empty()) << texts(late);
  EXPECT_EQ(d.terminate(), 0) << d.log();
}

// ---- 4. opt-out -----------------------------------------------------------------------------

TEST(ExampleFlows, StopAndStartWinEvenInTheMiddleOfAQuestion) {
  DaemonProcess d(exampleConfig(), {}, alwaysOpen());
  ASSERT_TRUE(d.start()) << d.log();

  Chat rina(d, "6281400000001");
  rina.say("STOP");
  EXPECT_EQ(text(rina.reply()),
            "Kakak tidak akan menerima promo lagi. Ketik START untuk berlangganan kembali.")
      << d.log();
  rina.say("start");
  EXPECT_EQ(text(rina.reply()), "Terima kasih! Kakak akan menerima info promo dari kami lagi.");

  // STOP while the lead flow waits for a name: STOP is answered, the question still waits.
  Chat budi(d, "6281400000002", "Budi");
  budi.say("mau tanya katering");
  EXPECT_EQ(text(budi.reply()), "Halo! Dengan siapa kami berbicara?");
  budi.say("stop");
  EXPECT_EQ(text(budi.reply()),
            "Kakak tidak akan menerima promo lagi. Ketik START untuk berlangganan kembali.");
  budi.say("Budi");
  EXPECT_THAT(text(budi.reply()), HasSubstr("Terima kasih Budi. Untuk tanggal berapa acaranya?"));

  EXPECT_EQ(d.terminate(), 0) << d.log();
  StoredContact subscribed = storedContact(d, rina.waId());
  EXPECT_THAT(subscribed.tags.dump(), Not(HasSubstr("berhenti-langganan")));
  EXPECT_EQ(subscribed.attributes["subscribed"], true);
  StoredContact stopped = storedContact(d, budi.waId());
  EXPECT_THAT(stopped.tags.dump(), HasSubstr("\"berhenti-langganan\""));
  EXPECT_EQ(stopped.attributes["subscribed"], false);
}

}  // namespace
}  // namespace waflow::test
