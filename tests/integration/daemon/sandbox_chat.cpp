#include "sandbox_chat.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

namespace waflow::test {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string nextMessageId() {
  static std::atomic<int> counter{0};
  return "wamid.flow." + std::to_string(::getpid()) + "." + std::to_string(++counter);
}

std::string buttonWebhook(const std::string& from, const std::string& id,
                          const std::string& reply_id, const std::string& title) {
  Json message = {
      {"from", from},
      {"id", id},
      {"timestamp", "1750000000"},
      {"type", "interactive"},
      {"interactive",
       {{"type", "button_reply"}, {"button_reply", {{"id", reply_id}, {"title", title}}}}}};
  Json body = {
      {"object", "whatsapp_business_account"},
      {"entry",
       {{{"id", "WABA"},
         {"changes",
          {{{"field", "messages"},
            {"value",
             {{"messaging_product", "whatsapp"},
              {"metadata", {{"display_phone_number", "15550001234"}, {"phone_number_id", "PN"}}},
              {"contacts", {{{"profile", {{"name", "Tester"}}}, {"wa_id", from}}}},
              {"messages", {message}}}}}}}}}}};
  return body.dump();
}

void writeFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  fs::path tmp = path.parent_path() / ("." + path.filename().string() + ".tmp");
  {
    std::ofstream out(tmp);
    out << text;
  }
  fs::rename(tmp, path);
}

bool waitForLog(const DaemonProcess& d, const std::string& needle,
                std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (d.log().find(needle) != std::string::npos) {
      return true;
    }
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

void Chat::attach(const DaemonProcess& d) {
  d_ = &d;
  after_ = 0;
  unread_.clear();
}

void Chat::say(const std::string& text) {
  send("text", {{"body", text}});
}

void Chat::send(const std::string& type, const Json& content) {
  Json body = Json::parse(textWebhook(contact_, nextMessageId(), ""));
  Json& value = body["entry"][0]["changes"][0]["value"];
  Json& message = value["messages"][0];
  message.erase("text");
  message["type"] = type;
  message[type] = content;
  if (user_id_only_) {
    message.erase("from");
    message["from_user_id"] = contact_;
    value["contacts"][0].erase("wa_id");
    value["contacts"][0]["user_id"] = contact_;
  }
  auto r =
      http("POST", d_->url("/webhooks/sandbox"), body.dump(), {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 200) << r.body << r.error;
}

void Chat::tap(const std::string& reply_id, const std::string& title) {
  auto r = http("POST", d_->url("/webhooks/sandbox"),
                buttonWebhook(contact_, nextMessageId(), reply_id, title),
                {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 200) << r.body << r.error;
}

Json Chat::next(size_t n, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (unread_.size() < n) {
    auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      break;
    }
    long wait = std::min<long>(left.count(), 2);
    auto r = http("GET", d_->url("/webhooks/sandbox?replies_for=" + contact_ + "&after=" +
                                 std::to_string(after_) + "&wait=" + std::to_string(wait)));
    if (r.status != 200) {
      break;
    }
    Json j = Json::parse(r.body);
    for (auto& reply : j["replies"]) {
      unread_.push_back(reply);
    }
    after_ = j["next"].get<uint64_t>();
    typing_ = j.value("typing", typing_);
  }
  Json out = Json::array();
  while (!unread_.empty() && out.size() < n) {
    out.push_back(unread_.front());
    unread_.pop_front();
  }
  return out;
}

std::vector<std::string> Chat::texts(size_t n, std::chrono::milliseconds timeout) {
  Json got = next(n, timeout);
  std::vector<std::string> out;
  for (const auto& r : got) {
    out.push_back(r.value("text", ""));
  }
  while (out.size() < n) {
    out.push_back("<no reply>");
  }
  return out;
}

}  // namespace waflow::test
