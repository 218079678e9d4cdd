#include "cli/chat.h"

#include "json/bounded_parse.h"

#include <curl/curl.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>

namespace waflow::core::cli {
namespace {

using Json = nlohmann::json;

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct Reply {
  long status = 0;
  std::string body;
  std::string error;
};

// `token`: the sandbox channel's token, sent as X-Sandbox-Token when not empty.
Reply request(const std::string& url, const std::string* post_body, long timeout_seconds,
              const std::string& token) {
  Reply r;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    r.error = "cannot initialise libcurl";
    return r;
  }
  curl_slist* headers = nullptr;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  // A daemon on this machine is reached directly even when a proxy is set for
  // the outside world; a remote daemon is still reached through http_proxy.
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_seconds);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  if (!token.empty()) {
    headers = curl_slist_append(headers, ("X-Sandbox-Token: " + token).c_str());
  }
  if (post_body != nullptr) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post_body->c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(post_body->size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    r.error = curl_easy_strerror(rc);
  } else {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return r;
}

// What the customer sends for a line: a text, or with "/pick <id>" the tap on a button or list
// row with that id (an interactive reply, as Meta sends it).
Json messageFor(const std::string& id, const std::string& line, const std::string& from) {
  Json m = {{"from", from}, {"id", id}, {"timestamp", std::to_string(std::time(nullptr))}};
  if (line.rfind("/pick ", 0) == 0 && line.size() > 6) {
    std::string picked = line.substr(6);
    m["type"] = "interactive";
    m["interactive"] = {{"type", "list_reply"},
                        {"list_reply", {{"id", picked}, {"title", picked}}}};
    return m;
  }
  m["type"] = "text";
  m["text"] = {{"body", line}};
  return m;
}

// How a reply shows in the terminal: its text, with the buttons or list rows to pick from.
std::string replyText(const Json& reply) {
  std::string text = reply.value("text", "");
  const Json payload = reply.contains("payload") ? reply["payload"] : Json();
  std::string options;
  if (payload.is_object() && payload.contains("action") && payload["action"].is_object()) {
    const Json& action = payload["action"];
    for (const auto& b : action.value("buttons", Json::array())) {
      const Json& r = b.value("reply", Json::object());
      options += fmt::format("[{}: {}] ", r.value("id", ""), r.value("title", ""));
    }
    for (const auto& section : action.value("sections", Json::array())) {
      for (const auto& row : section.value("rows", Json::array())) {
        options += fmt::format("[{}: {}] ", row.value("id", ""), row.value("title", ""));
      }
    }
  }
  if (text.empty()) {
    text = fmt::format("[{}] {}", reply.value("type", "message"),
                       payload.is_null() ? "" : payload.dump());
  }
  if (!options.empty()) {
    text += "\n     " + options + "(answer with /pick <id>)";
  }
  return text;
}

// A Cloud API webhook carrying one message, exactly as Meta sends it.
std::string webhookBody(const ChatOptions& o, const std::string& id, const std::string& text) {
  Json value = {
      {"messaging_product", "whatsapp"},
      {"metadata", {{"display_phone_number", "15550000000"}, {"phone_number_id", "sandbox"}}},
      {"contacts", Json::array({{{"profile", {{"name", o.name}}}, {"wa_id", o.from}}})},
      {"messages", Json::array({messageFor(id, text, o.from)})}};
  Json change = {{"field", "messages"}, {"value", std::move(value)}};
  Json entry = {{"id", "sandbox-waba"}, {"changes", Json::array({std::move(change)})}};
  Json body = {{"object", "whatsapp_business_account"}, {"entry", Json::array({std::move(entry)})}};
  return body.dump();
}

}  // namespace

// The interactive loop of `waflow chat` (read a line, post it, show the replies as they come)
// with its terminal handling, read top to bottom as the user experiences it.
int runChat(const ChatOptions& o) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const std::string webhook = fmt::format("{}/webhooks/{}", o.url, o.channel);
  bool interactive = isatty(STDIN_FILENO) != 0;

  // Where the replies start: only what arrives from now on is shown.
  Reply first =
      request(webhook + "?replies_for=" + o.from + "&after=0&wait=0", nullptr, 10, o.token);
  if (!first.error.empty() || first.status != 200) {
    std::cerr << fmt::format(
        "waflow chat: cannot reach the sandbox channel at {}: {}\n"
        "Is the daemon running (`waflow run`)? Is '{}' a channel-sandbox instance?\n",
        webhook,
        first.error.empty() ? fmt::format("HTTP {} {}", first.status, first.body) : first.error,
        o.channel);
    return 1;
  }
  const Json start = json_input::parseOrDiscarded(first.body);
  uint64_t after = start.is_object() ? start.value("next", uint64_t{0}) : 0;
  uint64_t typing = start.is_object() ? start.value("typing", uint64_t{0}) : 0;

  std::mutex mutex;
  std::condition_variable cv;
  std::atomic<bool> done{false};
  int sent = 0;
  int received = 0;

  std::thread poller([&] {
    while (!done.load()) {
      Reply r = request(fmt::format("{}?replies_for={}&after={}&typing={}&wait=2", webhook, o.from,
                                    after, typing),
                        nullptr, 10, o.token);
      if (!r.error.empty() || r.status != 200) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      Json j = json_input::parseOrDiscarded(r.body);
      if (j.is_discarded()) {
        continue;
      }
      if (uint64_t shown = j.value("typing", typing); shown > typing) {
        typing = shown;
        if (interactive) {
          std::lock_guard lock(mutex);
          std::cout << "\rbot is typing...\n"
                    << "you> " << std::flush;
        }
      }
      for (const Json& reply : j.value("replies", Json::array())) {
        std::string text = replyText(reply);
        std::lock_guard lock(mutex);
        std::cout << (interactive ? "\r" : "") << "bot> " << text << "\n"
                  << (interactive ? "you> " : "") << std::flush;
        ++received;
      }
      after = j.value("next", after);
      cv.notify_all();
    }
  });

  if (interactive) {
    std::cout << fmt::format("Chatting as {} ({}) with channel '{}' at {}. Ctrl-D to quit.\nyou> ",
                             o.name, o.from, o.channel, o.url)
              << std::flush;
  }
  std::mt19937_64 rng{std::random_device{}()};
  std::string line;
  int exit_code = 0;
  while (std::getline(std::cin, line)) {
    if (line.empty()) {
      if (interactive) {
        std::cout << "you> " << std::flush;
      }
      continue;
    }
    std::string id = fmt::format("wamid.chat.{:016x}", rng());
    std::string body = webhookBody(o, id, line);
    Reply r = request(webhook, &body, 10, o.token);
    if (!r.error.empty() || r.status < 200 || r.status >= 300) {
      std::lock_guard lock(mutex);
      std::cerr << fmt::format(
          "waflow chat: sending failed: {}\n",
          r.error.empty() ? fmt::format("HTTP {} {}", r.status, r.body) : r.error);
      exit_code = 1;
    } else {
      std::lock_guard lock(mutex);
      ++sent;
    }
  }
  // Input ended: give the bot time to answer what was sent.
  {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, std::chrono::seconds(o.wait_seconds), [&] { return received >= sent; });
  }
  done = true;
  poller.join();
  curl_global_cleanup();
  return exit_code;
}

}  // namespace waflow::core::cli
