// `waflow chat`: a terminal client that plays a WhatsApp customer against a
// running daemon's sandbox channel. Each line typed is POSTed to
// /webhooks/<channel> as a Cloud API text-message webhook; a second thread
// long-polls the channel for replies and prints them as they come.
//
// With input from a pipe it sends every line, then waits up to `wait_seconds`
// for the replies still owed, so it also works in scripts and tests.
//
// Thread-safety: runChat() owns its two threads; call it from main.
#pragma once

#include <string>

namespace waflow::core::cli {

struct ChatOptions {
  std::string url = "http://127.0.0.1:8080";
  std::string channel = "sandbox";
  std::string from = "6281200000001";
  std::string name = "Sandbox User";
  int wait_seconds = 10;
  std::string token;  // the channel's token (sent as X-Sandbox-Token); "" = none
};

int runChat(const ChatOptions& options);

}  // namespace waflow::core::cli
