// The request target, read the one way routing uses it.
//
// A front proxy (nginx, a load balancer, a WAF) decides what to let through on its own reading
// of the path; if waflow decoded or normalised it differently, "/webhooks/..%2Fmetrics" could
// pass a proxy rule for /webhooks/ and reach something else here. So the path is percent-decoded
// exactly once into the form the router matches, and every target whose decoded form could
// segment differently from its encoded form, or that a normalising proxy would rewrite, is
// refused (400):
//   - an encoded '/', '\' or '%' (%2F, %5C, %25: a second decoding would change the path);
//   - an encoded control character (%00-%1F, %7F);
//   - a dot-segment ("." or ".."), whether written plainly or encoded (%2E).
// docs/architecture.md ("HTTP requests") states the same rule for operators.
//
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>

namespace waflow::core::httpd {

struct RequestTarget {
  bool ok = false;
  std::string path;   // decoded once; what the router matches ("/" when empty)
  std::string query;  // still percent-encoded, without '?'
  std::string error;  // when !ok: what was refused, for the client, ending in a newline
};

// Reads an origin-form ("/a/b?q"), absolute-form ("http://h/a?q") or asterisk-form ("*") target.
RequestTarget parseRequestTarget(std::string_view target);

}  // namespace waflow::core::httpd
