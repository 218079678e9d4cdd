// SandboxChat helpers for end-to-end tests: a contact talking to the real daemon through the
// sandbox channel (messages in as Cloud API webhooks, replies read back with the sandbox's long
// poll), plus small file and log helpers the daemon tests share.
//
// Thread-safety: one test thread per object.
#pragma once

#include "daemon_process.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <string>
#include <vector>

namespace waflow::test {

// Message ids are unique within the test process, also across restarts of a daemon, so the
// inbox never takes a new message for a redelivery.
std::string nextMessageId();

// A Cloud API webhook body with a tapped reply button.
std::string buttonWebhook(const std::string& from, const std::string& id,
                          const std::string& reply_id, const std::string& title);

// Writes to a temp name, then renames: a file watch never reads half a file.
void writeFile(const std::filesystem::path& path, const std::string& text);

// True once `needle` is in the daemon's log, false after `timeout`.
bool waitForLog(const DaemonProcess& d, const std::string& needle,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

// One contact talking to the bot through the sandbox channel (instance id "sandbox").
class Chat {
 public:
  // `contact` is a phone number; with `user_id_only`, a business-scoped user id that the
  // webhooks carry as from_user_id, with no phone number (a WhatsApp user with a username).
  Chat(const DaemonProcess& d, std::string contact, bool user_id_only = false)
      : d_(&d), contact_(std::move(contact)), user_id_only_(user_id_only) {}

  // Talks to another daemon process (after a restart): its sandbox mailbox starts empty.
  void attach(const DaemonProcess& d);
  void say(const std::string& text);
  // Sends a message of `type` with Meta's object for it, e.g. a reaction's
  // {"message_id": "wamid...", "emoji": "👍"}.
  void send(const std::string& type, const nlohmann::json& content);
  void tap(const std::string& reply_id, const std::string& title);
  // The next `n` replies not read yet; fewer when they do not arrive within `timeout`.
  nlohmann::json next(size_t n = 1, std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // The texts of the next `n` replies ("<no reply>" for each one that did not arrive).
  std::vector<std::string> texts(size_t n,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(15));
  std::string text(std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    return texts(1, timeout)[0];
  }
  // True when nothing arrives within `window` (use only where no probe can show it).
  bool quiet(std::chrono::milliseconds window) { return next(1, window).empty(); }
  // Typing indicators the contact has been shown so far (as of the last poll).
  uint64_t typingShown() const { return typing_; }

  const std::string& contact() const { return contact_; }

 private:
  const DaemonProcess* d_;
  std::string contact_;
  bool user_id_only_ = false;
  uint64_t after_ = 0;
  uint64_t typing_ = 0;
  std::deque<nlohmann::json> unread_;
};

}  // namespace waflow::test
