// FakeGraphApi: an in-process imitation of Meta's Graph API for the WhatsApp Cloud API
// (protocols.md §A.7-A.9), on real HTTP at 127.0.0.1 (ephemeral port) with its own threads, so the
// real plugin code is tested over real sockets. It
//   - accepts any /v<N>.<M>/ prefix and checks `Authorization: Bearer <token>` on every call
//     (401 with Meta's code-190 error otherwise);
//   - POST /<phone-number-id>/messages: records the send and answers Meta's success shape with a
//     unique, realistic `wamid.` (contacts[], messages[]; message_status "accepted" for templates
//     on v24+); a mark-as-read body ({"status":"read"}) answers {"success":true};
//   - GET /<media-id>: {url, mime_type, sha256, file_size, id} with a URL on itself; GET of that
//     URL serves the bytes (Bearer required); POST /<phone-number-id>/media (multipart/form-data)
//     stores a file and returns its id; DELETE /<media-id> forgets it;
//   - fails on request: scripted faults for the next sends, fixed errors per recipient, and seeded
//     random fractions of 429 (130429 / 131056 with Retry-After), 500, slow answers and sends that
//     are never answered;
//   - posts signed webhooks (X-Hub-Signature-256) to a URL, including status notifications for the
//     wamids it issued; like Meta, it can post a `sent` status for every send it accepts, on its
//     own thread, before a slow answer to that send goes out (postSentStatuses).
//
// Thread-safety: every method may be called from any thread while requests are being served.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace waflow::test {

using FakeHeaders = std::vector<std::pair<std::string, std::string>>;

// One POST /messages that carried a message (not a read receipt).
struct RecordedSend {
  std::string api_version;      // "v23.0"
  std::string phone_number_id;  // from the path
  std::string to;               // "to", or "recipient" for a BSUID send
  std::string type;             // body "type"
  std::string raw_body;
  nlohmann::json body;  // parsed (null if it was not JSON)
  FakeHeaders headers;  // as received (names lower-cased)
  std::chrono::steady_clock::time_point received;
  int status = 0;      // HTTP status answered; 0 = never answered (kNoAnswer)
  std::string wamid;   // issued id when the answer was a success
  int error_code = 0;  // Meta code answered, when it was an error
  std::string header(std::string_view name) const;
};

// One mark-as-read / typing-indicator call.
struct RecordedRead {
  std::string phone_number_id;
  std::string message_id;
  bool typing = false;
};

struct StoredMedia {
  std::string id;
  std::string mime_type;
  std::string filename;
  std::string bytes;
  std::string phone_number_id;  // the uploader, for uploads
};

// What the fake does with one send instead of succeeding.
struct Fault {
  enum class Kind { kNone, kError, kSlow, kNoAnswer };
  Kind kind = Kind::kNone;
  int http_status = 0;                 // kError
  int code = 0;                        // kError: Meta's error.code
  std::string message;                 // kError: error.message (a default is derived from the code)
  std::string details;                 // kError: error_data.details
  int retry_after_s = 0;               // kError: a Retry-After header when > 0
  std::chrono::milliseconds delay{0};  // kSlow: answer success after this

  static Fault none() { return {}; }
  // 429 + 130429 (per-number throughput).
  static Fault rateLimited(int retry_after_s = 1);
  // 429 + 131056 (pair rate limit: same recipient too fast).
  static Fault pairRateLimited(int retry_after_s = 6);
  // 500 + 131000 (something went wrong).
  static Fault serverError();
  // Any Meta error, e.g. metaError(400, 131026, "Message undeliverable").
  static Fault metaError(int http_status, int code, std::string message = {},
                         std::string details = {});
  static Fault slow(std::chrono::milliseconds delay);
  // Reads the request and never answers; the connection stays open until the client gives up.
  static Fault noAnswer();
  // This fault with a Retry-After header (seconds; 0 = none).
  Fault withRetry(int retry_after_s) const;
};

// Random faults for sends that have no scripted fault; drawn from a generator seeded with `seed`,
// one draw per send in arrival order, so a single-threaded sequence of sends is reproducible.
struct FaultRates {
  double rate_limited = 0;       // 429 + 130429
  double pair_rate_limited = 0;  // 429 + 131056
  double server_error = 0;       // 500 + 131000
  double slow = 0;               // success after slow_delay
  double no_answer = 0;
  std::chrono::milliseconds slow_delay{200};
  int retry_after_s = 1;  // Retry-After on the 429s (0 = no header)
  uint64_t seed = 42;
};

class FakeGraphApi {
 public:
  struct Options {
    std::string access_token = "test-token";
    int threads = 1;
    // Served as metadata.display_phone_number in built webhooks.
    std::string display_phone_number = "15550001234";
    std::string waba_id = "102290129340398";
  };

  FakeGraphApi();
  explicit FakeGraphApi(Options options);
  ~FakeGraphApi();  // stops the loop (unanswered requests are dropped) and joins the threads
  FakeGraphApi(const FakeGraphApi&) = delete;
  FakeGraphApi& operator=(const FakeGraphApi&) = delete;

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port>": the ChannelConfig::base_url to use.
  std::string baseUrl() const;

  // --- behaviour --------------------------------------------------------------------------
  void setAccessToken(std::string token);  // e.g. to simulate an expired token mid-test
  // The next n sends (in arrival order) get `fault`; queued after earlier scripted faults.
  void failNextSends(const Fault& fault, int n = 1);
  // Every send to `recipient` gets `fault` (e.g. metaError(400, 131026, ...)); Fault::none()
  // clears it.
  void setRecipientFault(const std::string& recipient, const Fault& fault);
  void setFaultRates(const FaultRates& rates);

  // --- records ----------------------------------------------------------------------------
  std::vector<RecordedSend> sends() const;
  std::size_t sendCount() const;
  // Sends to one recipient, in arrival order.
  std::vector<RecordedSend> sendsTo(const std::string& recipient) const;
  std::vector<RecordedRead> reads() const;
  uint64_t requestCount() const;  // every HTTP request, any route
  // Blocks until sendCount() >= n (true) or the timeout passes (false).
  bool waitForSends(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void clearRecords();
  // The sends recorded since the last call, in arrival order, forgotten here together with the
  // reads: a long run (the soak benchmark) reads its records as they come and keeps memory flat.
  std::vector<RecordedSend> takeSends();

  // --- media ------------------------------------------------------------------------------
  struct MediaOverrides {
    std::optional<std::string> sha256;     // served instead of the real hash
    std::optional<std::string> mime_type;  // served instead of the stored type
    std::optional<uint64_t> file_size;     // served instead of the real size
    bool sha256_base64 = false;            // serve the hash as base64 instead of hex
    bool chunked = false;                  // serve the bytes chunked, without Content-Length
    std::optional<std::string> url;        // served as the download URL instead of our own
  };
  // Makes media available as if a customer had sent it; returns its id.
  std::string addMedia(std::string bytes, std::string mime_type, MediaOverrides overrides);
  std::string addMedia(std::string bytes, std::string mime_type);
  std::optional<StoredMedia> media(const std::string& id) const;
  std::vector<StoredMedia> uploads() const;  // what arrived through POST /<pnid>/media
  uint64_t mediaDownloads() const;           // successful GETs of media bytes
  // Downloads the client broke off before the whole body was written (e.g. over its cap).
  uint64_t mediaDownloadsCut() const;
  // The most media bodies ever served at the same time.
  int maxConcurrentMediaDownloads() const;
  // Every media download waits this long before its answer (so downloads overlap).
  void setMediaDelay(std::chrono::milliseconds delay);

  // --- webhooks ---------------------------------------------------------------------------
  struct WebhookResult {
    int status = 0;  // 0 when the connection failed
    std::string body;
    FakeHeaders headers;  // names lower-cased
    std::string error;
  };
  // POSTs `body` to `url` (http://127.0.0.1:<port>/path) with X-Hub-Signature-256 computed with
  // `app_secret`; blocks until answered or `timeout` passes.
  static WebhookResult postWebhook(const std::string& url, const std::string& app_secret,
                                   const std::string& body,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // A notification with one status for a wamid this fake issued; throws std::invalid_argument
  // for an unknown wamid. A `failed` status carries `error_code` (default 131026) with Meta's
  // title; `timestamp` 0 = now.
  std::string buildStatusWebhook(const std::string& wamid, const std::string& status,
                                 int error_code = 0, int64_t timestamp = 0) const;
  // One notification with a status for each of `wamids` (all issued by this fake, e.g. every
  // successful send's wamid), so a restarted daemon can learn in one POST about everything the
  // fake accepted. Statuses are grouped into one change per sending phone number id, in order;
  // each echoes its send's biz_opaque_callback_data. Throws std::invalid_argument for an unknown
  // wamid or an empty list.
  std::string buildStatusesWebhook(const std::vector<std::string>& wamids,
                                   const std::string& status, int error_code = 0,
                                   int64_t timestamp = 0) const;
  // A notification with one inbound text message from `from` (wamid generated when empty).
  std::string buildTextWebhook(const std::string& phone_number_id, const std::string& from,
                               const std::string& contact_name, const std::string& text,
                               std::string wamid = {}) const;

  // From now on, like Meta: `delay` after accepting a send (before a slow answer to it goes
  // out), posts a signed `sent` status for it to `url`, echoing its biz_opaque_callback_data. One
  // post per accepted send, in acceptance order, not repeated when the receiver is down (call
  // buildStatusesWebhook to redeliver). An empty `url` stops it.
  void postSentStatuses(std::string url, std::string app_secret,
                        std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  // Status posts answered 200 so far.
  std::size_t sentStatusesDelivered() const;

  // "sha256=<lowercase hex HMAC-SHA256(key, body)>"
  static std::string signatureHeader(std::string_view app_secret, std::string_view body);

  struct State;

 private:
  class StatusPoster;
  Options options_;
  std::unique_ptr<State> state_;
  std::unique_ptr<StatusPoster> status_poster_;  // destroyed first: it reads state_
  uint16_t port_ = 0;
};

}  // namespace waflow::test
