// PollRequest — what a listener asks for when it long-polls the sandbox for replies:
//
//   GET /webhooks/<id>?replies_for=<wa_id>&after=<seq>&wait=<seconds>&typing=<count>
//
// The query comes from whoever reaches the sandbox, so every number is parsed strictly (digits
// only; an absent or unreadable number takes its default) and clamped before any arithmetic:
// `wait` can never overflow into a negative or endless wait.
//
// Thread-safety: a pure function of its arguments.
#pragma once

#include <waflow/sdk/types.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace waflow::sandbox {

inline constexpr std::size_t kMaxContactBytes = 64;  // wa_ids have at most 20 digits

struct PollRequest {
  std::string contact;                  // replies_for: whose replies
  uint64_t after = 0;                   // only replies numbered after this
  std::optional<uint64_t> typing_seen;  // typing indicators the listener has already seen
  std::chrono::milliseconds wait{0};    // how long to wait for news, at most poll_timeout
};

// Reads the poll parameters of `request`; `replies_for` must be present. An empty or too long
// contact gives the text of a 400 answer instead. A missing, negative or unreadable `wait`
// means `poll_timeout`, and so does one longer than it.
std::variant<PollRequest, std::string> parsePollRequest(const waflow::WebhookRequest& request,
                                                        std::chrono::milliseconds poll_timeout);

}  // namespace waflow::sandbox
