#include "provider_errors.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ctime>

namespace waflow::ai_provider {
namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string_view trim(std::string_view s) {
  const char* kSpace = " \t\r\n";
  std::size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) {
    return {};
  }
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

std::optional<milliseconds> parseSeconds(std::string_view text, double scale) {
  std::string s(trim(text));
  if (s.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return milliseconds(static_cast<int64_t>(std::ceil(v * scale)));
}

std::optional<milliseconds> parseHttpDate(std::string_view text,
                                          std::chrono::system_clock::time_point now) {
  std::string s(trim(text));
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (end == nullptr) {
    return std::nullopt;
  }
  auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
  return std::chrono::duration_cast<milliseconds>(when - now);
}

}  // namespace

milliseconds parseRetryAfter(const Headers& headers, std::chrono::system_clock::time_point now) {
  if (auto ms = detail::findHeader(headers, "retry-after-ms")) {
    if (auto v = parseSeconds(*ms, 1.0); v && v->count() > 0) {
      return *v;
    }
  }
  if (auto s = detail::findHeader(headers, "retry-after")) {
    if (auto v = parseSeconds(*s, 1000.0); v && v->count() > 0) {
      return *v;
    }
    if (auto v = parseHttpDate(*s, now); v && v->count() > 0) {
      return *v;
    }
  }
  return milliseconds(0);
}

Json parseJsonBody(std::string_view body) {
  return Json::parse(trim(body), nullptr, false);
}

std::string bodyExcerpt(std::string_view body) {
  std::string_view t = trim(body);
  constexpr std::size_t kMax = 200;
  std::string out(t.substr(0, kMax));
  if (t.size() > kMax) {
    out += "...";
  }
  return out.empty() ? "(empty body)" : out;
}

ErrorBody parseErrorBody(std::string_view body) {
  ErrorBody out;
  Json doc = parseJsonBody(body);
  if (!doc.is_discarded() && doc.is_object() && doc.contains("error")) {
    const Json& e = doc["error"];
    if (e.is_object()) {
      auto text = [&e](const char* key) {
        return e.contains(key) && e[key].is_string() ? e[key].get<std::string>() : "";
      };
      out.message = text("message");
      out.code = text("code");
      out.type = text("type");
    } else if (e.is_string()) {
      out.message = e.get<std::string>();  // Ollama: {"error": "model 'x' not found"}
    }
  }
  if (out.message.empty()) {
    out.message = bodyExcerpt(body);
  }
  return out;
}

void applyShouldRetry(const Headers& headers, Failure& f) {
  if (auto should = detail::findHeader(headers, "x-should-retry")) {
    std::string v = lower(trim(*should));
    if (v == "true") {
      f.retryable = true;
      f.rc = Rc::kRetry;
    } else if (v == "false") {
      f.retryable = false;
    }
  }
}

Failure classifyHttpError(int status, const Headers& headers, std::string_view body,
                          std::string_view provider) {
  const std::string who(provider);
  const ErrorBody error = parseErrorBody(body);
  const std::string& code = error.code;
  const std::string base = who + " answered HTTP " + std::to_string(status) + ": " + error.message;

  Failure f;
  f.retry_after = parseRetryAfter(headers);
  if (status == 401 || status == 403) {
    f.rc = Rc::kAuth;
    f.message = base + " (check api_key" + (status == 403 ? ", organization and project" : "") +
                " in the AI provider's config)";
  } else if (status == 402 || (status == 429 && code == "insufficient_quota")) {
    f.rc = Rc::kError;
    f.message = base + " (the account is out of credit or quota: check billing; waiting will " +
                "not help)";
  } else if (status == 400 || status == 404 || status == 422) {
    f.rc = Rc::kInvalid;
    f.message = base;
    if (status == 404) {
      f.message += " (check model and base_url)";
    }
  } else if (status == 408 || status == 409 || status == 429 || status >= 500) {
    f.rc = Rc::kRetry;
    f.retryable = true;
    f.message = base;
  } else {
    f.rc = Rc::kError;
    f.message = base;
  }
  applyShouldRetry(headers, f);
  return f;
}

Failure classifyTransportError(waflow_http_error error, std::string_view detail,
                               std::string_view provider, milliseconds timeout) {
  const std::string who(provider);
  Failure f;
  switch (error) {
    case WAFLOW_HTTP_TIMEOUT:
      f = {Rc::kRetry,
           true,
           {},
           who + " did not answer within " + std::to_string(timeout.count()) + " ms"};
      break;
    case WAFLOW_HTTP_CONNECT:
      f = {Rc::kRetry, true, {}, "cannot connect to " + who + ": " + std::string(detail)};
      break;
    case WAFLOW_HTTP_TLS:
      f = {Rc::kError, false, {}, "TLS failed with " + who + ": " + std::string(detail)};
      break;
    case WAFLOW_HTTP_TOO_LARGE:
      f = {Rc::kError, false, {}, who + "'s answer is too large: " + std::string(detail)};
      break;
    case WAFLOW_HTTP_CANCELLED:
    case WAFLOW_HTTP_SHUTDOWN:
      f = {Rc::kRetry, false, {}, "the call to " + who + " was cancelled: " + std::string(detail)};
      break;
    default:
      f = {Rc::kRetry, true, {}, "the call to " + who + " failed: " + std::string(detail)};
      break;
  }
  return f;
}

milliseconds backoffDelay(int retry, double jitter) {
  double seconds = std::min(0.5 * std::pow(2.0, std::max(0, retry)), 8.0);
  double scaled = seconds * (1.0 - 0.25 * std::clamp(jitter, 0.0, 1.0));
  return milliseconds(static_cast<int64_t>(scaled * 1000.0));
}

}  // namespace waflow::ai_provider
