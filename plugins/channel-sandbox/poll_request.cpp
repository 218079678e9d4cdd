#include "poll_request.h"

#include <algorithm>
#include <charconv>
#include <string_view>

namespace waflow::sandbox {
namespace {

// The whole value as a decimal number, or nullopt (empty, a sign, other characters, overflow).
std::optional<uint64_t> decimal(const std::optional<std::string>& text) {
  if (!text || text->empty()) {
    return std::nullopt;
  }
  uint64_t value = 0;
  const char* end = text->data() + text->size();
  auto [stop, error] = std::from_chars(text->data(), end, value);
  if (error != std::errc() || stop != end) {
    return std::nullopt;
  }
  return value;
}

std::chrono::milliseconds waitOf(const waflow::WebhookRequest& request,
                                 std::chrono::milliseconds poll_timeout) {
  std::optional<uint64_t> seconds = decimal(request.queryParam("wait"));
  if (!seconds) {
    return poll_timeout;
  }
  // Compared in seconds first, so the multiplication below cannot overflow.
  auto limit_seconds = std::chrono::duration_cast<std::chrono::seconds>(poll_timeout).count();
  if (limit_seconds < 0 || *seconds > static_cast<uint64_t>(limit_seconds)) {
    return poll_timeout;
  }
  return std::min(poll_timeout, std::chrono::milliseconds(*seconds * 1000));
}

}  // namespace

std::variant<PollRequest, std::string> parsePollRequest(const waflow::WebhookRequest& request,
                                                        std::chrono::milliseconds poll_timeout) {
  PollRequest poll;
  poll.contact = request.queryParam("replies_for").value_or("");
  if (poll.contact.empty() || poll.contact.size() > kMaxContactBytes) {
    return std::string("replies_for: give the contact's wa_id (1 to 64 characters)\n");
  }
  poll.after = decimal(request.queryParam("after")).value_or(0);
  if (request.queryParam("typing")) {
    poll.typing_seen = decimal(request.queryParam("typing")).value_or(0);
  }
  poll.wait = waitOf(request, poll_timeout);
  return poll;
}

}  // namespace waflow::sandbox
