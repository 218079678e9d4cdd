#include "signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <stdexcept>

namespace waflow::cloudapi {
namespace {

constexpr std::size_t kDigestSize = 32;
constexpr std::string_view kPrefix = "sha256=";

using Digest = std::array<unsigned char, kDigestSize>;

Digest hmacSha256(std::string_view key, std::string_view body) {
  Digest out{};
  unsigned int size = 0;
  // OpenSSL wants a non-null key pointer even for an empty key.
  static const unsigned char kEmpty = 0;
  const void* key_data = key.empty() ? &kEmpty : static_cast<const void*>(key.data());
  const auto* data = reinterpret_cast<const unsigned char*>(body.data());
  if (HMAC(EVP_sha256(), key_data, static_cast<int>(key.size()), body.empty() ? &kEmpty : data,
           body.size(), out.data(), &size) == nullptr ||
      size != kDigestSize) {
    throw std::runtime_error("HMAC-SHA256 failed inside OpenSSL");
  }
  return out;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

bool startsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != prefix[i]) {
      return false;
    }
  }
  return true;
}

std::string_view trimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool fail(std::string* why, const char* reason) {
  if (why != nullptr) {
    *why = reason;
  }
  return false;
}

}  // namespace

bool verifySignature(std::string_view app_secret, std::string_view raw_body,
                     std::optional<std::string_view> header_value, std::string* why) {
  if (!header_value.has_value()) {
    return fail(why, "missing X-Hub-Signature-256 header");
  }
  std::string_view value = trimBlanks(*header_value);
  if (!startsWithIgnoreCase(value, kPrefix) || value.size() != kPrefix.size() + 2 * kDigestSize) {
    return fail(why, "malformed header (expected sha256=<64 hex digits>)");
  }
  value.remove_prefix(kPrefix.size());
  Digest claimed{};
  for (std::size_t i = 0; i < kDigestSize; ++i) {
    int hi = hexDigit(value[2 * i]);
    int lo = hexDigit(value[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return fail(why, "malformed header (expected sha256=<64 hex digits>)");
    }
    claimed[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  // An empty key would let anyone who knows that produce valid signatures.
  if (app_secret.empty()) {
    return fail(why, "no app_secret configured to check X-Hub-Signature-256");
  }
  Digest actual = hmacSha256(app_secret, raw_body);
  if (CRYPTO_memcmp(claimed.data(), actual.data(), kDigestSize) != 0) {
    return fail(why,
                "signature does not match the body (wrong app_secret, or the body was altered)");
  }
  if (why != nullptr) {
    why->clear();
  }
  return true;
}

std::string signBody(std::string_view app_secret, std::string_view body) {
  static constexpr char kHex[] = "0123456789abcdef";
  Digest digest = hmacSha256(app_secret, body);
  std::string out(kPrefix);
  out.reserve(kPrefix.size() + 2 * kDigestSize);
  for (unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 0x0f];
  }
  return out;
}

}  // namespace waflow::cloudapi
