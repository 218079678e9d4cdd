// libFuzzer target: the Cloud API channel's webhook parser and signature check — the first
// code that reads what the internet posts to /webhooks/<channel>. The input is the request
// body; inputs of odd length are parsed for one business number (foreign changes refused).
// Seeds: the parser's unit-test fixtures (tests/plugins/channel-cloudapi/inbound/fixtures).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "signature.h"
#include "webhook_parser.h"

namespace {

void fail(const char* promise) {
  std::fprintf(stderr, "webhook parser broke a promise: %s\n", promise);
  std::abort();
}

void checkParse(std::string_view body, bool for_one_number) {
  static waflow::cloudapi::WebhookParser parser;
  waflow::cloudapi::ParsedWebhook parsed = parser.parse(body, for_one_number ? "123456789" : "");
  if (!parsed.ok()) {
    if (!parsed.messages.empty() || !parsed.statuses.empty()) {
      fail("a refused body still produced messages or statuses");
    }
    return;
  }
  for (const auto& message : parsed.messages) {
    if (message.id.empty()) {
      fail("a message has no id (retries could not be deduplicated)");
    }
    if (for_one_number && message.recipient != "123456789") {
      fail("a message for another business number was accepted");
    }
  }
}

void checkSignature(std::string_view body) {
  constexpr std::string_view kSecret = "fuzz-app-secret";
  std::string header = waflow::cloudapi::signBody(kSecret, body);
  std::string why;
  if (!waflow::cloudapi::verifySignature(kSecret, body, header, &why)) {
    fail("the signature of the body itself was refused");
  }
  header.back() = header.back() == '0' ? '1' : '0';
  if (waflow::cloudapi::verifySignature(kSecret, body, header, &why)) {
    fail("a wrong signature was accepted");
  }
  // The body's first bytes as a header value: any text must be answered, never crash.
  waflow::cloudapi::verifySignature(kSecret, body, body.substr(0, 100), &why);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  checkParse(body, size % 2 == 1);
  checkSignature(body);
  return 0;
}
