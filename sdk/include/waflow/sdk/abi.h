/*
 * waflow plugin ABI — the only thing that crosses the shared-library boundary.
 *
 * A plugin is a shared library exporting one C function, `waflow_plugin_entry`,
 * that returns a pointer to a static, size-prefixed descriptor. Everything else
 * (create, destroy, the channel / AI / integration functions) is reached through
 * that descriptor, and every host service reaches the plugin through the
 * `waflow_host_api` table it is given at creation. Plugins never link against
 * the daemon.
 *
 * Most plugin authors never touch this header: <waflow/sdk/plugin.hpp> turns an
 * ordinary C++ class into these exports. It is written in C so that any compiler
 * and any language with a C FFI can implement a plugin.
 *
 * Compatibility rules (docs/plugin-sdk.md, "ABI policy"):
 *  - WAFLOW_ABI_MAJOR changes only when a struct or function below changes in
 *    an incompatible way. The host refuses a plugin whose major differs.
 *  - WAFLOW_ABI_MINOR grows when something is appended: a field at the end of a
 *    struct, a function pointer in a table, a new plugin kind. The host accepts
 *    plugins built for its own minor or an older one, and refuses a newer one.
 *  - Every struct starts with `struct_size` (sizeof as the writer compiled it).
 *    A reader never touches a field that lies beyond the writer's struct_size,
 *    so an old plugin and a new host (or the reverse) agree on what exists.
 *  - Structs end with reserved pointers that must be zero; a minor version may
 *    give them meaning.
 *
 * Memory ownership: whoever allocates frees. Strings are `waflow_str` views that
 * are valid only for the duration of the call (or callback) that passes them;
 * copy what you keep. No C++ type, exception or allocator crosses this boundary.
 *
 * Threading: the host calls an instance's functions from several threads at
 * once (one webhook per connection, sends from bus workers). Callbacks given to
 * host services run on host threads, never inline inside the call that
 * registered them, and exactly once.
 */
#ifndef WAFLOW_SDK_ABI_H_
#define WAFLOW_SDK_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WAFLOW_ABI_MAJOR 1
#define WAFLOW_ABI_MINOR 2

/* Name of the one symbol every plugin exports. */
#define WAFLOW_PLUGIN_ENTRY_SYMBOL "waflow_plugin_entry"

/* Largest error message a plugin can hand back, terminating NUL included. */
#define WAFLOW_ERROR_MAX 1024

/* A borrowed, not necessarily NUL-terminated UTF-8 string. */
typedef struct waflow_str {
  const char* data;
  size_t size;
} waflow_str;

/* Result codes. Every fallible call returns one of these. */
typedef enum waflow_rc {
  WAFLOW_OK = 0,
  WAFLOW_ERR = 1,             /* failed; retrying the same thing will fail again */
  WAFLOW_ERR_RETRY = 2,       /* transient (rate limit, 5xx, timeout): retry later */
  WAFLOW_ERR_INVALID = 3,     /* the request or config is wrong: fix it, don't retry */
  WAFLOW_ERR_AUTH = 4,        /* credentials rejected or expired */
  WAFLOW_ERR_UNSUPPORTED = 5, /* this plugin cannot do that */
  WAFLOW_ERR_BUSY = 6,        /* the host is overloaded (bus full): back off */
  /* Since 1.2: the outcome is unknown. The request went out and then no answer came (a
   * timeout or a reset after sending, a gateway error in place of the provider's answer), so
   * the provider may have carried it out: repeating it blindly could do it twice. The host
   * holds such a send "in doubt" until a status settles it (docs/reliability.md). */
  WAFLOW_ERR_IN_DOUBT = 7
} waflow_rc;

typedef enum waflow_plugin_kind {
  WAFLOW_KIND_CHANNEL = 1,    /* WhatsApp Cloud API, BSPs, gateways, the sandbox */
  WAFLOW_KIND_AI = 2,         /* chat-completion providers */
  WAFLOW_KIND_STORAGE = 3,    /* since 1.1: durable inbox, outbox, contacts, key-value */
  WAFLOW_KIND_INTEGRATION = 4 /* anything else flows call: CRMs, payments, webhooks out */
} waflow_plugin_kind;

typedef enum waflow_log_level {
  WAFLOW_LOG_TRACE = 0,
  WAFLOW_LOG_DEBUG = 1,
  WAFLOW_LOG_INFO = 2,
  WAFLOW_LOG_WARN = 3,
  WAFLOW_LOG_ERROR = 4
} waflow_log_level;

/* An error filled in by the callee; the caller owns the storage. */
typedef struct waflow_error {
  int32_t code; /* a waflow_rc */
  char message[WAFLOW_ERROR_MAX];
} waflow_error;

typedef struct waflow_header {
  waflow_str name;
  waflow_str value;
} waflow_header;

/* ---------------------------------------------------------------------------
 * Host services
 * ------------------------------------------------------------------------- */

typedef struct waflow_http_request {
  uint32_t struct_size;
  waflow_str method; /* "GET", "POST", ... */
  waflow_str url;
  const waflow_header* headers;
  size_t header_count;
  waflow_str body;
  uint32_t timeout_ms; /* 0 = the host default (30 s) */
  uint32_t flags;      /* WAFLOW_HTTP_* bits */
  void* reserved[4];
  /* Since ABI 1.2 (the host reads them only when struct_size covers them). */
  /* Non-empty: the body of a 2xx response is streamed into this file (created
   * or truncated; a symbolic link there is refused) and the response's body is
   * empty. The file exists after the callback only when the request succeeded
   * with a 2xx status; on any failure the host removes it. Other statuses'
   * bodies arrive in memory as usual. */
  waflow_str response_file;
  /* Cap on the response body's bytes as they arrive: past it the transfer is
   * aborted with WAFLOW_HTTP_TOO_LARGE. 0 = the host's limit. A body kept in
   * memory never gets more than the host's limit; one streamed into
   * response_file may. */
  uint64_t max_response_bytes;
} waflow_http_request;

/* TLS verification is on unless a request sets this bit explicitly. */
#define WAFLOW_HTTP_INSECURE_SKIP_TLS_VERIFY 0x1u

typedef enum waflow_http_error {
  WAFLOW_HTTP_OK = 0,
  WAFLOW_HTTP_TIMEOUT = 1,
  WAFLOW_HTTP_CONNECT = 2, /* refused, unreachable or DNS failure */
  WAFLOW_HTTP_TLS = 3,
  WAFLOW_HTTP_TOO_LARGE = 4,
  WAFLOW_HTTP_CANCELLED = 5,
  WAFLOW_HTTP_SHUTDOWN = 6, /* the daemon is stopping */
  WAFLOW_HTTP_OTHER = 7
} waflow_http_error;

typedef struct waflow_http_response {
  uint32_t struct_size;
  int32_t status; /* HTTP status, 0 when the transport failed */
  int32_t error;  /* a waflow_http_error */
  waflow_str error_message;
  const waflow_header* headers; /* names in lower case */
  size_t header_count;
  waflow_str body;
  uint64_t elapsed_us;
  void* reserved[4];
  /* Since ABI 1.2 (read it only when struct_size covers it). On a transport failure: 1 when
   * bytes of the request had reached the connection, so the server may have acted on it
   * although no answer came; 0 when nothing was sent (a connect failure or connect timeout),
   * so repeating it is safe. */
  uint32_t request_sent;
} waflow_http_response;

/* Valid only during the callback. */
typedef void (*waflow_http_callback)(void* user, const waflow_http_response* response);

/* Called exactly once: when the timer fires (cancelled = 0) or after it was
 * cancelled (cancelled = 1). */
typedef void (*waflow_timer_callback)(void* user, int32_t cancelled);

/* An event on the daemon's bus. `conversation` orders events: two events with
 * the same key are handled one at a time, in publish order. */
typedef struct waflow_event {
  uint32_t struct_size;
  waflow_str type;         /* e.g. "order.paid"; core types are listed in docs */
  waflow_str conversation; /* ordering key, may be empty */
  waflow_str payload_json; /* a JSON object */
  waflow_str request_id;   /* empty: the host uses the current one */
  void* reserved[4];
} waflow_event;

typedef void (*waflow_event_callback)(void* user, const waflow_event* event);

/* Opaque handle the host passes back to itself. */
typedef struct waflow_host_ctx waflow_host_ctx;

/* The services one plugin instance may use. Valid from create() until
 * destroy() returns. Every function is safe to call from any thread. */
typedef struct waflow_host_api {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  waflow_host_ctx* ctx;
  waflow_str instance_id; /* the id from waflow.yaml, e.g. "toko-utama" */
  waflow_str data_dir;    /* a directory this instance may write to (created) */

  /* Logs one line tagged with the instance and the current request id.
   * Known secrets are redacted by the host. */
  void (*log)(waflow_host_ctx* ctx, int32_t level, waflow_str message);

  /* Outbound HTTP on the daemon's event loop (libcurl multi). Returns an id for
   * http_cancel; the callback always runs exactly once. */
  uint64_t (*http_send)(waflow_host_ctx* ctx, const waflow_http_request* request,
                        waflow_http_callback callback, void* user);
  void (*http_cancel)(waflow_host_ctx* ctx, uint64_t id);

  uint64_t (*timer_start)(waflow_host_ctx* ctx, uint64_t delay_ms, waflow_timer_callback callback,
                          void* user);
  void (*timer_cancel)(waflow_host_ctx* ctx, uint64_t id);

  /* Returns WAFLOW_OK, or WAFLOW_ERR_BUSY when the bus is full. */
  int32_t (*publish)(waflow_host_ctx* ctx, const waflow_event* event);
  /* pattern: an exact type, "prefix.*" or "*". */
  uint64_t (*subscribe)(waflow_host_ctx* ctx, waflow_str pattern, waflow_event_callback callback,
                        void* user);
  void (*unsubscribe)(waflow_host_ctx* ctx, uint64_t id);

  /* A value this plugin learned at run time (a refreshed token, say) that
   * must never appear in a log line. */
  void (*register_secret)(waflow_host_ctx* ctx, waflow_str value);

  /* Runs fn(user) on a host thread soon; never inline. */
  void (*post)(waflow_host_ctx* ctx, void (*fn)(void* user), void* user);

  void* reserved[16];

  /* Since ABI 1.2; may be null (check struct_size and the pointer first). */
  /* Adds `delta` to the instance's counter `name` ([a-z0-9_], 1-64 characters;
   * other names are ignored), shown at /metrics as
   * waflow_plugin_events_total{instance,plugin,event="<name>"}. An instance
   * has at most 64 distinct names; later ones are ignored. */
  void (*count)(waflow_host_ctx* ctx, waflow_str name, uint64_t delta);
} waflow_host_api;

/* Plugin-owned state of one configured instance. */
typedef struct waflow_instance waflow_instance;

/* ---------------------------------------------------------------------------
 * Channel plugins
 * ------------------------------------------------------------------------- */

/* An HTTP request the daemon received on /webhooks/<instance-id>. */
typedef struct waflow_webhook_request {
  uint32_t struct_size;
  waflow_str method;
  waflow_str path;  /* e.g. "/webhooks/toko-utama" */
  waflow_str query; /* raw, without '?' */
  const waflow_header* headers;
  size_t header_count;
  waflow_str body; /* raw bytes as received: verify signatures on this */
  waflow_str remote_address;
  waflow_str request_id;
  void* reserved[4];
} waflow_webhook_request;

/* One customer message, normalised. The channel's own JSON for it rides along
 * in raw_json so nothing the provider sent is lost. */
typedef struct waflow_inbound_message {
  uint32_t struct_size;
  waflow_str id;           /* the channel's message id: unique per channel, the dedup key */
  waflow_str from;         /* sender's address (wa_id / phone digits); may be empty */
  waflow_str from_user_id; /* business-scoped user id, when the channel has one */
  waflow_str contact_name;
  waflow_str type;       /* text, image, audio, ..., or the provider's own word */
  waflow_str text;       /* body, caption or button title: what keyword rules read */
  waflow_str reply_id;   /* id of the tapped button / list row / quick reply */
  waflow_str context_id; /* the message this one replies to */
  waflow_str recipient;  /* our side: phone number id or number */
  int64_t timestamp;     /* unix seconds */
  waflow_str raw_json;
  void* reserved[8];
} waflow_inbound_message;

/* A delivery receipt for something we sent. */
typedef struct waflow_status_update {
  uint32_t struct_size;
  waflow_str message_id; /* the provider's id returned by send */
  waflow_str status;     /* sent, delivered, read, played, failed, ... */
  waflow_str recipient;
  int64_t timestamp;
  int32_t error_code; /* provider's code when failed, else 0 */
  waflow_str error_message;
  waflow_str raw_json;
  void* reserved[8];
} waflow_status_update;

/* Where a channel puts what it parsed out of one webhook, and how it answers.
 * The host acknowledges (writes the 2xx the plugin chose) only after everything
 * emitted was accepted; if that fails it answers 503 instead so the provider
 * retries. Valid until respond() has been called, which must happen exactly
 * once, possibly later from another thread (long polls). */
typedef struct waflow_webhook_sink {
  uint32_t struct_size;
  void* host;
  int32_t (*message)(void* host, const waflow_inbound_message* message);
  int32_t (*status)(void* host, const waflow_status_update* status);
  void (*respond)(void* host, int32_t http_status, waflow_str content_type, waflow_str body,
                  const waflow_header* headers, size_t header_count);
  void* reserved[4];
} waflow_webhook_sink;

/* A message to send. `id` is the host's id for this send, stable across
 * retries: channels that support idempotency keys should pass it on. */
typedef struct waflow_outbound_message {
  uint32_t struct_size;
  waflow_str id;
  waflow_str to;
  waflow_str type;         /* "text", "image", "template", "interactive", ... */
  waflow_str text;         /* the body for type text */
  waflow_str reply_to;     /* channel message id to quote, may be empty */
  waflow_str payload_json; /* type-specific object, Cloud API shaped; may be empty for text */
  void* reserved[8];
} waflow_outbound_message;

typedef struct waflow_send_result {
  uint32_t struct_size;
  int32_t rc; /* WAFLOW_OK, WAFLOW_ERR_RETRY, WAFLOW_ERR_INVALID, WAFLOW_ERR_AUTH, ... */
  waflow_str provider_message_id;
  int32_t provider_error_code;
  waflow_str error_message;
  uint32_t retry_after_ms; /* with WAFLOW_ERR_RETRY: when to try again, 0 = host's backoff */
  void* reserved[4];
} waflow_send_result;

typedef void (*waflow_send_callback)(void* user, const waflow_send_result* result);

typedef struct waflow_channel_api {
  uint32_t struct_size;
  /* Required. Verify, parse, emit through the sink, respond. */
  void (*handle_webhook)(waflow_instance* instance, const waflow_webhook_request* request,
                         const waflow_webhook_sink* sink);
  /* Required. The callback runs exactly once. */
  void (*send)(waflow_instance* instance, const waflow_outbound_message* message,
               waflow_send_callback callback, void* user);
  /* Optional. Returns 1 when the channel can take traffic (/readyz), else 0
   * with the reason in `error`. */
  int32_t (*ready)(waflow_instance* instance, waflow_error* error);
  void* reserved[8];
} waflow_channel_api;

/* ---------------------------------------------------------------------------
 * AI-provider plugins
 * ------------------------------------------------------------------------- */

/* request_json: {"system": "...", "messages": [{"role": "user"|"assistant",
 * "content": "..."}], "model"?: "...", "max_tokens"?: n, "temperature"?: x,
 * "json_schema"?: {...}, "tools"?: [...]} — docs/plugin-sdk.md has the full
 * shape. */
typedef struct waflow_ai_request {
  uint32_t struct_size;
  waflow_str request_json;
  waflow_str conversation;
  waflow_str request_id;
  void* reserved[4];
} waflow_ai_request;

typedef struct waflow_ai_result {
  uint32_t struct_size;
  int32_t rc;
  waflow_str content; /* the reply text */
  /* {"model", "finish_reason", "usage": {"prompt_tokens", "completion_tokens",
   * "cached_tokens"?, "reasoning_tokens"?}, "tool_calls"? (OpenAI's shape),
   * "assistant_message"? (with tool calls: the turn to send back before the tool
   * results), "stop_reason"? (the provider's own)} */
  waflow_str result_json;
  waflow_str error_message;
  uint32_t retry_after_ms;
  void* reserved[4];
} waflow_ai_result;

typedef void (*waflow_ai_callback)(void* user, const waflow_ai_result* result);

typedef struct waflow_ai_api {
  uint32_t struct_size;
  void (*complete)(waflow_instance* instance, const waflow_ai_request* request,
                   waflow_ai_callback callback, void* user);
  void* reserved[8];
} waflow_ai_api;

/* ---------------------------------------------------------------------------
 * Integration plugins
 * ------------------------------------------------------------------------- */

typedef struct waflow_call_result {
  uint32_t struct_size;
  int32_t rc;
  waflow_str output_json;
  waflow_str error_message;
  uint32_t retry_after_ms;
  void* reserved[4];
} waflow_call_result;

typedef void (*waflow_call_callback)(void* user, const waflow_call_result* result);

typedef struct waflow_integration_api {
  uint32_t struct_size;
  /* Runs one named operation (e.g. "create_invoice") with JSON input. */
  void (*call)(waflow_instance* instance, waflow_str operation, waflow_str input_json,
               waflow_call_callback callback, void* user);
  void* reserved[8];
} waflow_integration_api;

/* ---------------------------------------------------------------------------
 * Storage plugins (since ABI 1.1)
 * ------------------------------------------------------------------------- */

/* A storage plugin keeps what the daemon must not lose: the inbox of received
 * messages, the outbox of messages to send, statuses, contacts and key-value
 * data. The daemon talks to it through named operations with JSON input and
 * output; <waflow/sdk/storage.hpp> defines every operation, its input and
 * output, and the guarantees each gives (docs/storage.md explains them).
 * Operations are a protocol on top of this one function, so new operations
 * arrive without changing the ABI; an unknown operation answers
 * WAFLOW_ERR_UNSUPPORTED.
 *
 * The callback runs exactly once. An operation that writes calls it only once
 * the write is durable (committed and synced). Blocking work must run on the
 * plugin's own threads, never on the thread that called execute(). */
typedef struct waflow_storage_api {
  uint32_t struct_size;
  void (*execute)(waflow_instance* instance, waflow_str operation, waflow_str input_json,
                  waflow_call_callback callback, void* user);
  void* reserved[8];
} waflow_storage_api;

/* ---------------------------------------------------------------------------
 * The descriptor
 * ------------------------------------------------------------------------- */

typedef struct waflow_plugin_descriptor {
  uint32_t struct_size;
  uint16_t abi_major; /* WAFLOW_ABI_MAJOR the plugin was built with */
  uint16_t abi_minor;
  int32_t kind;     /* a waflow_plugin_kind */
  const char* name; /* e.g. "channel-cloudapi": what `plugin:` in waflow.yaml names */
  const char* version;
  const char* description;
  /* JSON Schema (subset, see docs/plugin-sdk.md) of the instance's `config:`
   * block. The host validates the block against it before create(). */
  const char* config_schema_json;

  /* Required. config_json is the validated config with defaults filled in. */
  int32_t (*create)(const waflow_host_api* host, waflow_str config_json, waflow_instance** out,
                    waflow_error* error);
  /* Optional. Called once all instances exist, before traffic. */
  int32_t (*start)(waflow_instance* instance, waflow_error* error);
  /* Optional. Stop timers and subscriptions and cancel work; the host then
   * waits for outstanding callbacks before destroy(). */
  void (*stop)(waflow_instance* instance);
  /* Required. */
  void (*destroy)(waflow_instance* instance);

  /* Points at the table for `kind`: waflow_channel_api, waflow_ai_api,
   * waflow_storage_api (since 1.1) or waflow_integration_api. */
  const void* kind_api;
  void* reserved[8];
} waflow_plugin_descriptor;

/* The exported entry point. The host passes its own ABI version so a plugin
 * may adapt; the returned descriptor must stay valid while the library is
 * loaded. */
typedef const waflow_plugin_descriptor* (*waflow_plugin_entry_fn)(uint16_t host_abi_major,
                                                                  uint16_t host_abi_minor);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WAFLOW_SDK_ABI_H_ */
