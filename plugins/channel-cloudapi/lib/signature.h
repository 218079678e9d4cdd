// Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, body)>`,
// computed over the raw request bytes exactly as received (never re-serialized JSON: Meta's
// bodies carry \uXXXX escapes that a round trip would change).
//
// Thread-safety: free functions without shared state; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace waflow::cloudapi {

inline constexpr std::string_view kSignatureHeader = "X-Hub-Signature-256";

// True when `header_value` (the X-Hub-Signature-256 value, nullopt when the header is absent)
// is "sha256=" followed by the 64 hex digits of HMAC-SHA256(app_secret, raw_body). The digest
// is compared in constant time. On false, `*why` (when not null) says which of these it was:
//   "missing X-Hub-Signature-256 header"
//   "malformed header (expected sha256=<64 hex digits>)"
//   "signature does not match the body (wrong app_secret, or the body was altered)"
//   "no app_secret configured to check X-Hub-Signature-256"
// The "sha256=" prefix is matched case-insensitively, hex digits in either case, and blanks
// around the value are ignored (HTTP allows them); anything else is malformed.
bool verifySignature(std::string_view app_secret, std::string_view raw_body,
                     std::optional<std::string_view> header_value, std::string* why);

// The header value Meta would send for `body`: "sha256=<lowercase hex>".
std::string signBody(std::string_view app_secret, std::string_view body);

}  // namespace waflow::cloudapi
