// What a Graph API answer means for the sender: success (with the wamid), retry later (and when),
// fix the request, or the token is dead. Branches on Meta's error.code (protocols.md §A.9), never
// on message titles; the HTTP status only decides when the body carries no Meta error.
//
// The same table classifies errors that arrive later, in a `failed` status webhook
// (classifyStatusError), so both paths agree on what is retryable.
//
// Thread-safety: pure functions over a constant table.
#pragma once

#include <waflow/sdk/types.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace waflow::cloudapi {

struct SendOutcome {
  waflow::Rc rc = waflow::Rc::kError;  // kOk, kRetry, kInDoubt, kInvalid, kAuth or kError
  int http_status = 0;                 // 0 when the transport failed or for status webhooks
  std::string provider_message_id;     // messages[0].id of a send, or "id" of an upload
  std::string message_status;          // messages[0].message_status (v24+), e.g. "accepted"
  int error_code = 0;                  // Meta's error.code; 0 when there is none
  // "Meta error 131026 (Message undeliverable): <details>", or the transport failure.
  std::string message;
  std::chrono::milliseconds retry_after{0};  // set when rc == kRetry

  bool ok() const { return rc == waflow::Rc::kOk; }
  // The exception a plugin call should throw for this outcome; `context` (e.g. "sending to
  // 6281...") prefixes the message when given.
  waflow::Error toError(std::string_view context = {}) const;
};

// One Graph API call's answer (transport errors included).
SendOutcome classify(const waflow::HttpResponse& response);

// The answer to sending a message, where a repeat would reach the customer twice: like
// classify(), except that an outcome that is unknown is Rc::kInDoubt instead of kRetry —
//   - a transport failure after the request went out (a timeout waiting for the answer, a reset
//     connection): Meta may have accepted the message;
//   - a 5xx that is not Meta's own error answer (a proxy's 502/503/504 page): the request may
//     have reached Meta behind it. A 5xx carrying Meta's error code is Meta refusing, so it is
//     retried as usual.
// A failure before anything was sent (connect refused or timed out) stays kRetry.
SendOutcome classifySend(const waflow::HttpResponse& response);

// An error from a `failed` status webhook: its code, plus the title and error_data.details Meta
// sent (used in the message; the table's title is used when `title` is empty).
SendOutcome classifyStatusError(int code, std::string_view title = {},
                                std::string_view details = {});

// Meta's short title for a code ("Message undeliverable"), or "" when the table lacks it.
std::string_view errorTitle(int code);

// Seconds from a Retry-After header ("30", "1.5"); 0 ms when absent or not a delay in seconds.
std::chrono::milliseconds parseRetryAfter(std::string_view value);

}  // namespace waflow::cloudapi
