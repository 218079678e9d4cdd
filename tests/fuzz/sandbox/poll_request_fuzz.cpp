// libFuzzer target: the sandbox channel's long-poll query (replies_for, after, wait, typing),
// read by the SDK's percent-decoding query parser, and the mailboxes it then reads.
// The input is the query string after '?'.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "mailboxes.h"
#include "poll_request.h"

namespace {

void fail(const char* promise) {
  std::fprintf(stderr, "sandbox poll parsing broke a promise: %s\n", promise);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace std::chrono_literals;
  static waflow::sandbox::Mailboxes mailboxes({4, 4096, 16384, 8});
  waflow::WebhookRequest request;
  request.method = "GET";
  request.query.assign(reinterpret_cast<const char*>(data), size);
  auto parsed = waflow::sandbox::parsePollRequest(request, 25s);
  const auto* poll = std::get_if<waflow::sandbox::PollRequest>(&parsed);
  if (poll == nullptr) {
    return 0;
  }
  if (poll->contact.empty() || poll->contact.size() > waflow::sandbox::kMaxContactBytes) {
    fail("a contact outside 1..64 bytes was accepted");
  }
  if (poll->wait < 0ms || poll->wait > 25s) {
    fail("the wait is outside 0..poll_timeout");
  }
  mailboxes.put(poll->contact, {{"to", poll->contact}, {"type", "text"}, {"text", request.query}});
  waflow::sandbox::Mailboxes::Read read = mailboxes.read(poll->contact, poll->after);
  if (read.replies.size() > 4) {
    fail("a mailbox holds more replies than its limit");
  }
  return 0;
}
