#include "graph_errors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <string>

namespace waflow::cloudapi {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using waflow::Rc;

struct CodeInfo {
  int code;
  Rc rc;
  std::chrono::milliseconds retry_after;  // default delay when Meta sends no Retry-After
  std::string_view title;
};

// protocols.md §A.9 (codes from pywa's errors.py and Meta's error-code page). Request bugs are
// kInvalid (fixing the message or config is the only cure); conditions of the recipient, the
// account or Meta's policy are kError (retrying the same send fails the same way).
// Long because it is data: one Graph API error code a line with its meaning (protocols.md A.9).
constexpr std::array kCodes = {
    // Authorization: the token is expired or revoked; the plugin reports itself not ready.
    CodeInfo{0, Rc::kAuth, 0ms, "AuthException"},
    CodeInfo{190, Rc::kAuth, 0ms, "Access token has expired"},
    // Transient on Meta's side.
    CodeInfo{1, Rc::kRetry, 5s, "API Unknown"},
    CodeInfo{2, Rc::kRetry, 5s, "API Service"},
    CodeInfo{131000, Rc::kRetry, 5s, "Something went wrong"},
    CodeInfo{131016, Rc::kRetry, 30s, "Service unavailable"},
    CodeInfo{131057, Rc::kRetry, 60s, "Account in maintenance mode"},
    CodeInfo{133004, Rc::kRetry, 30s, "Server temporarily unavailable"},
    // Throttling: app-level (minutes), WABA, per-number throughput, per-recipient pair rate.
    CodeInfo{4, Rc::kRetry, 300s, "API Too Many Calls"},
    CodeInfo{80007, Rc::kRetry, 60s, "Rate limit issues"},
    CodeInfo{130429, Rc::kRetry, 1s, "Rate limit hit"},
    CodeInfo{131056, Rc::kRetry, 6s, "(Business Account, Consumer Account) pair rate limit hit"},
    CodeInfo{133016, Rc::kRetry, 60s, "Account register/deregister rate limit exceeded"},
    // Permissions and account state: an operator has to act.
    CodeInfo{3, Rc::kError, 0ms, "API Method"},
    CodeInfo{10, Rc::kError, 0ms, "Permission Denied"},
    CodeInfo{368, Rc::kError, 0ms, "Temporarily blocked for policies violations"},
    CodeInfo{131031, Rc::kError, 0ms, "Account has been locked"},
    CodeInfo{131042, Rc::kError, 0ms, "Business eligibility payment issue"},
    CodeInfo{131045, Rc::kError, 0ms, "Incorrect certificate"},
    CodeInfo{131005, Rc::kError, 0ms, "Access denied"},
    // The recipient or Meta's delivery policy: do not retry the same message.
    CodeInfo{131026, Rc::kError, 0ms, "Message undeliverable"},
    CodeInfo{131047, Rc::kError, 0ms, "Re-engagement message"},
    CodeInfo{131048, Rc::kError, 0ms, "Spam rate limit hit"},
    CodeInfo{131049, Rc::kError, 0ms,
             "Meta chose not to deliver this message to maintain healthy ecosystem engagement"},
    CodeInfo{130472, Rc::kError, 0ms, "User's number is part of an experiment"},
    CodeInfo{131052, Rc::kError, 0ms, "Media download error"},
    CodeInfo{131053, Rc::kError, 0ms, "Media upload error"},
    CodeInfo{132015, Rc::kError, 0ms, "Template is paused"},
    CodeInfo{132016, Rc::kError, 0ms, "Template is disabled"},
    // The request is wrong: a bug or a configuration mistake.
    CodeInfo{100, Rc::kInvalid, 0ms, "Invalid parameter"},
    CodeInfo{131008, Rc::kInvalid, 0ms, "Required parameter is missing"},
    CodeInfo{131009, Rc::kInvalid, 0ms, "Parameter value is not valid"},
    CodeInfo{131021, Rc::kInvalid, 0ms, "Recipient cannot be sender"},
    CodeInfo{131030, Rc::kInvalid, 0ms, "Recipient phone number not in allowed list"},
    CodeInfo{131051, Rc::kInvalid, 0ms, "Unsupported message type"},
    CodeInfo{132000, Rc::kInvalid, 0ms, "Number of parameters does not match the template"},
    CodeInfo{132001, Rc::kInvalid, 0ms, "Template does not exist"},
    CodeInfo{132005, Rc::kInvalid, 0ms, "Translated text too long"},
    CodeInfo{132007, Rc::kInvalid, 0ms, "Template format character policy violated"},
    CodeInfo{132012, Rc::kInvalid, 0ms, "Template parameter format mismatch"},
    CodeInfo{133010, Rc::kInvalid, 0ms, "Phone number not registered"},
};

// Permission errors 200-299 (Meta: "Permission denied" family).
constexpr CodeInfo kPermissionRange{200, Rc::kError, 0ms, "Permission error"};

const CodeInfo* lookup(int code) {
  for (const CodeInfo& info : kCodes) {
    if (info.code == code) {
      return &info;
    }
  }
  if (code >= 200 && code <= 299) {
    return &kPermissionRange;
  }
  return nullptr;
}

constexpr auto kMaxRetryAfter = std::chrono::milliseconds(std::chrono::hours(1));

std::string describe(int code, std::string_view title, std::string_view details) {
  std::string msg = "Meta error " + std::to_string(code);
  if (!title.empty()) {
    msg += " (";
    msg += title;
    msg += ")";
  }
  if (!details.empty() && details != title) {
    msg += ": ";
    msg += details;
  }
  return msg;
}

std::string_view transportName(waflow_http_error e) {
  switch (e) {
    case WAFLOW_HTTP_OK:
      return "ok";
    case WAFLOW_HTTP_TIMEOUT:
      return "timeout";
    case WAFLOW_HTTP_CONNECT:
      return "connect";
    case WAFLOW_HTTP_TLS:
      return "tls";
    case WAFLOW_HTTP_TOO_LARGE:
      return "response too large";
    case WAFLOW_HTTP_CANCELLED:
      return "cancelled";
    case WAFLOW_HTTP_SHUTDOWN:
      return "shutdown";
    case WAFLOW_HTTP_OTHER:
      break;
  }
  return "transport error";
}

std::string snippet(std::string_view body) {
  constexpr std::size_t kMax = 200;
  std::string s(body.substr(0, kMax));
  if (body.size() > kMax) {
    s += "...";
  }
  return s;
}

SendOutcome fromCode(int code, std::string_view title, std::string_view details, int http_status) {
  SendOutcome out;
  out.http_status = http_status;
  out.error_code = code;
  const CodeInfo* info = lookup(code);
  if (title.empty() && info != nullptr) {
    title = info->title;
  }
  out.message = describe(code, title, details);
  if (info != nullptr) {
    out.rc = info->rc;
    out.retry_after = info->retry_after;
  } else if (http_status == 401) {
    out.rc = Rc::kAuth;
  } else if (http_status == 429 || http_status >= 500) {
    out.rc = Rc::kRetry;  // an unknown code on a transient status: trust the status
    out.retry_after = 5s;
  } else {
    out.rc = Rc::kError;  // unknown: do not hammer Meta with a retry loop
  }
  return out;
}

}  // namespace

waflow::Error SendOutcome::toError(std::string_view context) const {
  std::string text = context.empty() ? message : std::string(context) + ": " + message;
  return waflow::Error(rc == Rc::kOk ? Rc::kError : rc, text, retry_after);
}

std::chrono::milliseconds parseRetryAfter(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
    value.remove_prefix(1);
  }
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
    value.remove_suffix(1);
  }
  double seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  // An HTTP-date form is possible per RFC 9110, but Meta sends seconds; a date falls back to the
  // code's default delay.
  if (value.empty() || ec != std::errc() || end != value.data() + value.size() ||
      !std::isfinite(seconds) || seconds < 0) {
    return std::chrono::milliseconds(0);
  }
  auto ms = std::chrono::milliseconds(
      static_cast<int64_t>(std::ceil(std::min(seconds, 3600.0) * 1000.0)));
  return std::min(ms, kMaxRetryAfter);
}

std::string_view errorTitle(int code) {
  const CodeInfo* info = lookup(code);
  return info == nullptr ? std::string_view() : info->title;
}

// Graph's answer to a send, from transport failure through HTTP status to the error body's
// code, in the order Meta documents them; each branch is a few lines and they read as a table.
SendOutcome classify(const waflow::HttpResponse& response) {
  SendOutcome out;
  out.http_status = response.status;
  if (!response.transportOk()) {
    // Timeouts and refused connections are transient; a send that timed out may still have been
    // delivered, so the sender's idempotency (the outbox id) matters here. TLS failures and
    // oversized answers are configuration problems that a retry will not fix.
    bool retry = response.error == WAFLOW_HTTP_TIMEOUT || response.error == WAFLOW_HTTP_CONNECT ||
                 response.error == WAFLOW_HTTP_OTHER || response.error == WAFLOW_HTTP_SHUTDOWN ||
                 response.error == WAFLOW_HTTP_CANCELLED;
    out.rc = retry ? Rc::kRetry : Rc::kError;
    out.retry_after = retry ? 5s : 0ms;
    out.message = "Graph API request failed (" + std::string(transportName(response.error)) + ")";
    if (!response.error_message.empty()) {
      out.message += ": " + response.error_message;
    }
    return out;
  }

  json body = json::parse(response.body, nullptr, false);
  if (response.ok()) {
    out.rc = Rc::kOk;
    if (body.is_object()) {
      auto messages = body.find("messages");
      if (messages != body.end() && messages->is_array() && !messages->empty() &&
          (*messages)[0].is_object()) {
        const json& first = (*messages)[0];
        out.provider_message_id = first.value("id", "");
        out.message_status = first.value("message_status", "");
      } else if (auto id = body.find("id"); id != body.end() && id->is_string()) {
        out.provider_message_id = id->get<std::string>();
      }
    }
    return out;
  }

  std::chrono::milliseconds header_delay{0};
  if (auto h = response.header("retry-after")) {
    header_delay = parseRetryAfter(*h);
  }

  const json* error = nullptr;
  if (body.is_object()) {
    auto it = body.find("error");
    if (it != body.end() && it->is_object()) {
      error = &*it;
    }
  }
  if (error != nullptr && error->contains("code") && (*error)["code"].is_number_integer()) {
    int code = (*error)["code"].get<int>();
    std::string details;
    if (auto data = error->find("error_data"); data != error->end() && data->is_object()) {
      details = data->value("details", "");
    }
    std::string meta_message = error->value("message", "");
    if (details.empty()) {
      details = meta_message;
    }
    out = fromCode(code, {}, details, response.status);
  } else {
    out.error_code = 0;
    out.message = "Graph API answered HTTP " + std::to_string(response.status);
    if (!response.body.empty()) {
      out.message += ": " + snippet(response.body);
    }
    int s = response.status;
    if (s == 401) {
      out.rc = Rc::kAuth;
    } else if (s == 408 || s == 429 || s >= 500) {
      out.rc = Rc::kRetry;
      out.retry_after = s == 429 ? 1s : 5s;
    } else if (s == 400 || s == 404 || s == 413 || s == 422) {
      out.rc = Rc::kInvalid;
    } else {
      out.rc = Rc::kError;
    }
  }
  if (out.rc == Rc::kRetry && header_delay.count() > 0) {
    out.retry_after = header_delay;
  }
  if (out.rc != Rc::kRetry) {
    out.retry_after = 0ms;
  }
  return out;
}

SendOutcome classifySend(const waflow::HttpResponse& response) {
  SendOutcome out = classify(response);
  if (out.rc != Rc::kRetry) {
    return out;
  }
  const bool lost_answer =
      !response.transportOk() && response.request_sent &&
      (response.error == WAFLOW_HTTP_TIMEOUT || response.error == WAFLOW_HTTP_OTHER ||
       response.error == WAFLOW_HTTP_SHUTDOWN || response.error == WAFLOW_HTTP_CANCELLED);
  const bool not_metas_answer =
      response.transportOk() && response.status >= 500 && out.error_code == 0;
  if (lost_answer || not_metas_answer) {
    out.rc = Rc::kInDoubt;
    out.retry_after = 0ms;
    out.message += "; the request had gone out, so Meta may have accepted it (in doubt)";
  }
  return out;
}

SendOutcome classifyStatusError(int code, std::string_view title, std::string_view details) {
  SendOutcome out = fromCode(code, title, details, 0);
  if (out.rc != Rc::kRetry) {
    out.retry_after = 0ms;
  }
  return out;
}

}  // namespace waflow::cloudapi
