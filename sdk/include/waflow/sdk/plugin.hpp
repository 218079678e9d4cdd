// <waflow/sdk/plugin.hpp> — write a waflow plugin as an ordinary C++ class.
//
//   class Shout {
//    public:
//     static constexpr waflow::PluginInfo kInfo{waflow::Kind::kAi, "ai-shout", "1.0.0",
//                                               "Replies in capitals"};
//     Shout(waflow::Host& host, const waflow::Config& config);
//     waflow::Task<waflow::AiResult> complete(waflow::AiRequest request);
//   };
//   WAFLOW_PLUGIN(Shout)
//
// WAFLOW_PLUGIN generates the exported C entry point and the function tables
// of abi.h, checks the class's member signatures at compile time (a missing or
// mistyped method is a readable static_assert, not a crash at load time), and
// makes sure no exception crosses the library boundary: whatever a method
// throws becomes a result code plus message (throw waflow::Error to choose the
// code). docs/plugin-sdk.md is the guide.
//
// The methods each kind needs (optional ones in brackets):
//   every kind:   Class(waflow::Host&, const waflow::Config&)   [void start()] [void stop()]
//   kChannel:     Task<WebhookResponse> handleWebhook(WebhookRequest, Webhook)
//                 Task<SendResult> send(OutboundMessage)
//                 [bool ready(std::string& reason)]
//   kAi:          Task<AiResult> complete(AiRequest)
//   kStorage:     Task<CallResult> execute(std::string operation, Config input)
//                 (the operations are defined in <waflow/sdk/storage.hpp>)
//   kIntegration: Task<CallResult> call(std::string operation, Config input)
//
// Thread-safety: the host calls these from several threads at once; protect
// shared state in the class.
#pragma once

#include <waflow/sdk/abi.h>
#include <waflow/sdk/host.hpp>
#include <waflow/sdk/task.hpp>
#include <waflow/sdk/types.hpp>

#include <nlohmann/json.hpp>

#include <concepts>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

// Test hooks: build a plugin that claims another ABI version (to exercise the
// loader's refusals). Plugin authors never set these.
#ifndef WAFLOW_PLUGIN_ABI_MAJOR
#define WAFLOW_PLUGIN_ABI_MAJOR WAFLOW_ABI_MAJOR
#endif
#ifndef WAFLOW_PLUGIN_ABI_MINOR
#define WAFLOW_PLUGIN_ABI_MINOR WAFLOW_ABI_MINOR
#endif

namespace waflow {

// A plugin's validated config (and integration inputs) as JSON.
using Config = nlohmann::json;

// What a channel's handleWebhook() hands parsed messages and statuses to. The
// daemon stores and publishes them, and acknowledges the webhook only once
// all were accepted. Cheap to copy; valid until handleWebhook() finishes.
class Webhook {
 public:
  explicit Webhook(const waflow_webhook_sink* sink) : sink_(sink) {}

  // Hands one parsed message to the daemon. Returns false when it is unusable
  // (no id). Publishing happens when handleWebhook() returns a 2xx: if the
  // daemon cannot take the messages then, it answers 503 with Retry-After
  // instead of the plugin's response, so the provider redelivers.
  bool message(const InboundMessage& m) const {
    waflow_inbound_message c{};
    c.struct_size = sizeof(c);
    c.id = abiStr(m.id);
    c.from = abiStr(m.from);
    c.from_user_id = abiStr(m.from_user_id);
    c.contact_name = abiStr(m.contact_name);
    c.type = abiStr(m.type);
    c.text = abiStr(m.text);
    c.reply_id = abiStr(m.reply_id);
    c.context_id = abiStr(m.context_id);
    c.recipient = abiStr(m.recipient);
    c.timestamp = m.timestamp;
    c.raw_json = abiStr(m.raw_json);
    return sink_->message(sink_->host, &c) == WAFLOW_OK;
  }

  bool status(const StatusUpdate& s) const {
    waflow_status_update c{};
    c.struct_size = sizeof(c);
    c.message_id = abiStr(s.message_id);
    c.status = abiStr(s.status);
    c.recipient = abiStr(s.recipient);
    c.timestamp = s.timestamp;
    c.error_code = s.error_code;
    c.error_message = abiStr(s.error_message);
    c.raw_json = abiStr(s.raw_json);
    return sink_->status(sink_->host, &c) == WAFLOW_OK;
  }

 private:
  const waflow_webhook_sink* sink_;
};

namespace detail {

template <class P>
struct Instance {
  Instance(const waflow_host_api* api, const Config& config) : host(api), plugin(host, config) {}
  Host host;
  P plugin;
};

template <class P>
Instance<P>* self(waflow_instance* i) {
  return reinterpret_cast<Instance<P>*>(i);
}

inline void copyMessage(char (&dst)[WAFLOW_ERROR_MAX], std::string_view message) {
  std::size_t n = message.size() < WAFLOW_ERROR_MAX - 1 ? message.size() : WAFLOW_ERROR_MAX - 1;
  std::memcpy(dst, message.data(), n);
  dst[n] = '\0';
}

// The outcome of a failed call, taken from whatever was thrown.
struct Failure {
  Rc code = Rc::kError;
  std::string message;
  uint32_t retry_after_ms = 0;
};

inline Failure describe(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return {e.code(), e.what(), static_cast<uint32_t>(e.retryAfter().count())};
  } catch (const std::exception& e) {
    return {Rc::kError, e.what(), 0};
  } catch (...) {
    return {Rc::kError, "unknown exception (not derived from std::exception)", 0};
  }
}

// Runs `fn`, turning any exception into an error code and message.
template <typename Fn>
int32_t guarded(waflow_error* error, Fn&& fn) noexcept {
  try {
    fn();
    return WAFLOW_OK;
  } catch (...) {
    Failure f = describe(std::current_exception());
    if (error != nullptr) {
      error->code = static_cast<int32_t>(f.code);
      copyMessage(error->message, f.message);
    }
    return static_cast<int32_t>(f.code);
  }
}

// ---- compile-time checks with messages an author can act on ----------------

template <class P>
concept HasInfo = requires {
  { P::kInfo } -> std::convertible_to<const PluginInfo&>;
};
template <class P>
concept ConstructibleFromHost = std::is_constructible_v<P, Host&, const Config&>;
template <class P>
concept HasHandleWebhook = requires(P& p, WebhookRequest r, Webhook w) {
  { p.handleWebhook(std::move(r), w) } -> std::same_as<Task<WebhookResponse>>;
};
template <class P>
concept HasSend = requires(P& p, OutboundMessage m) {
  { p.send(std::move(m)) } -> std::same_as<Task<SendResult>>;
};
template <class P>
concept HasReady = requires(P& p, std::string& reason) {
  { p.ready(reason) } -> std::same_as<bool>;
};
template <class P>
concept HasComplete = requires(P& p, AiRequest r) {
  { p.complete(std::move(r)) } -> std::same_as<Task<AiResult>>;
};
template <class P>
concept HasCall = requires(P& p, std::string op, Config input) {
  { p.call(std::move(op), std::move(input)) } -> std::same_as<Task<CallResult>>;
};
template <class P>
concept HasStart = requires(P& p) {
  p.start();
};
template <class P>
concept HasStop = requires(P& p) {
  p.stop();
};

template <class P>
concept HasExecute = requires(P& p, std::string op, Config input) {
  { p.execute(std::move(op), std::move(input)) } -> std::same_as<Task<CallResult>>;
};

// ---- lifecycle trampolines ---------------------------------------------------

template <class P>
int32_t create(const waflow_host_api* api, waflow_str config, waflow_instance** out,
               waflow_error* error) noexcept {
  return guarded(error, [&] {
    Config parsed = config.size == 0 ? Config::object() : Config::parse(view(config));
    *out = reinterpret_cast<waflow_instance*>(new Instance<P>(api, parsed));
  });
}

template <class P>
int32_t start(waflow_instance* i, waflow_error* error) noexcept {
  return guarded(error, [&] {
    if constexpr (HasStart<P>) {
      self<P>(i)->plugin.start();
    }
  });
}

template <class P>
void stop(waflow_instance* i) noexcept {
  if constexpr (HasStop<P>) {
    int32_t rc = guarded(nullptr, [&] { self<P>(i)->plugin.stop(); });
    if (rc != WAFLOW_OK) {
      self<P>(i)->host.error("stop() threw; continuing shutdown");
    }
  }
}

template <class P>
void destroy(waflow_instance* i) noexcept {
  delete self<P>(i);
}

// ---- channel ----------------------------------------------------------------

inline Headers copyHeaders(const waflow_header* h, std::size_t n) {
  Headers out;
  out.reserve(n);
  for (std::size_t k = 0; k < n; ++k) {
    out.emplace_back(std::string(view(h[k].name)), std::string(view(h[k].value)));
  }
  return out;
}

inline void respond(const waflow_webhook_sink* sink, const WebhookResponse& r) noexcept {
  try {
    std::vector<waflow_header> headers;
    for (const auto& [k, v] : r.headers) {
      headers.push_back({abiStr(k), abiStr(v)});
    }
    sink->respond(sink->host, r.status, abiStr(r.content_type), abiStr(r.body), headers.data(),
                  headers.size());
  } catch (...) {
    sink->respond(sink->host, 500, abiStr("text/plain"), abiStr("internal error"), nullptr, 0);
  }
}

template <class P>
void handleWebhook(waflow_instance* i, const waflow_webhook_request* r,
                   const waflow_webhook_sink* sink) noexcept {
  Instance<P>* inst = self<P>(i);
  try {
    WebhookRequest req{std::string(view(r->method)),    std::string(view(r->path)),
                       std::string(view(r->query)),     copyHeaders(r->headers, r->header_count),
                       std::string(view(r->body)),      std::string(view(r->remote_address)),
                       std::string(view(r->request_id))};
    spawn(
        inst->plugin.handleWebhook(std::move(req), Webhook(sink)),
        [inst, sink](std::optional<WebhookResponse> response, std::exception_ptr error) noexcept {
          if (error) {
            inst->host.error("handleWebhook failed: " + describe(error).message);
            respond(sink, WebhookResponse{500, "internal error", "text/plain; charset=utf-8", {}});
          } else {
            respond(sink, *response);
          }
        });
  } catch (...) {
    inst->host.error("handleWebhook failed: " + describe(std::current_exception()).message);
    respond(sink, WebhookResponse{500, "internal error", "text/plain; charset=utf-8", {}});
  }
}

// Runs the task `make()` returns and reports its outcome through the ABI
// result struct `AbiResult` (waflow_send_result, waflow_ai_result or
// waflow_call_result, which share rc / error_message / retry_after_ms).
// `fill(result, value)` copies a successful value in. Whatever is thrown,
// while creating the task or inside it, becomes a failure: the callback
// always runs exactly once.
template <typename AbiResult, typename Make, typename Fill, typename Callback>
void runToCallback(Make make, Fill fill, Callback cb, void* user) noexcept {
  auto fail = [cb, user](const Failure& f) noexcept {
    AbiResult r{};
    r.struct_size = sizeof(r);
    r.rc = static_cast<int32_t>(f.code);
    r.error_message = abiStr(f.message);
    r.retry_after_ms = f.retry_after_ms;
    cb(user, &r);
  };
  try {
    spawn(make(), [fill, fail, cb, user](auto result, std::exception_ptr error) noexcept {
      if (error) {
        fail(describe(error));
        return;
      }
      AbiResult r{};
      r.struct_size = sizeof(r);
      r.rc = WAFLOW_OK;
      fill(r, *result);
      cb(user, &r);
    });
  } catch (...) {
    fail(describe(std::current_exception()));
  }
}

template <class P>
void send(waflow_instance* i, const waflow_outbound_message* m, waflow_send_callback cb,
          void* user) noexcept {
  runToCallback<waflow_send_result>(
      [&] {
        OutboundMessage msg{std::string(view(m->id)),       std::string(view(m->to)),
                            std::string(view(m->type)),     std::string(view(m->text)),
                            std::string(view(m->reply_to)), std::string(view(m->payload_json))};
        return self<P>(i)->plugin.send(std::move(msg));
      },
      [](waflow_send_result& r, const SendResult& v) {
        r.provider_message_id = abiStr(v.provider_message_id);
      },
      cb, user);
}

template <class P>
int32_t ready(waflow_instance* i, waflow_error* error) noexcept {
  std::string reason;
  bool is_ready = false;
  int32_t rc = guarded(error, [&] { is_ready = self<P>(i)->plugin.ready(reason); });
  if (rc != WAFLOW_OK) {
    return 0;
  }
  if (!is_ready && error != nullptr) {
    error->code = WAFLOW_ERR;
    copyMessage(error->message, reason);
  }
  return is_ready ? 1 : 0;
}

template <class P>
constexpr auto readyFunction() -> int32_t (*)(waflow_instance*, waflow_error*) {
  if constexpr (HasReady<P>) {
    return &ready<P>;
  } else {
    return nullptr;
  }
}

// ---- AI ---------------------------------------------------------------------

template <class P>
void complete(waflow_instance* i, const waflow_ai_request* r, waflow_ai_callback cb,
              void* user) noexcept {
  runToCallback<waflow_ai_result>(
      [&] {
        AiRequest req{std::string(view(r->request_json)), std::string(view(r->conversation)),
                      std::string(view(r->request_id))};
        return self<P>(i)->plugin.complete(std::move(req));
      },
      [](waflow_ai_result& out, const AiResult& v) {
        out.content = abiStr(v.content);
        out.result_json = abiStr(v.result_json);
      },
      cb, user);
}

// ---- integration ------------------------------------------------------------

template <class P>
void call(waflow_instance* i, waflow_str operation, waflow_str input, waflow_call_callback cb,
          void* user) noexcept {
  runToCallback<waflow_call_result>(
      [&] {
        Config parsed = input.size == 0 ? Config::object() : Config::parse(view(input));
        return self<P>(i)->plugin.call(std::string(view(operation)), std::move(parsed));
      },
      [](waflow_call_result& out, const CallResult& v) { out.output_json = abiStr(v.output_json); },
      cb, user);
}

// ---- storage ----------------------------------------------------------------

template <class P>
void execute(waflow_instance* i, waflow_str operation, waflow_str input, waflow_call_callback cb,
             void* user) noexcept {
  runToCallback<waflow_call_result>(
      [&] {
        Config parsed = input.size == 0 ? Config::object() : Config::parse(view(input));
        return self<P>(i)->plugin.execute(std::string(view(operation)), std::move(parsed));
      },
      [](waflow_call_result& out, const CallResult& v) { out.output_json = abiStr(v.output_json); },
      cb, user);
}

// ---- the descriptor -----------------------------------------------------------

template <class P>
const void* kindApi() {
  constexpr Kind kind = P::kInfo.kind;
  if constexpr (kind == Kind::kChannel) {
    static_assert(HasHandleWebhook<P>,
                  "a channel plugin needs: waflow::Task<waflow::WebhookResponse> "
                  "handleWebhook(waflow::WebhookRequest request, waflow::Webhook webhook)");
    static_assert(HasSend<P>,
                  "a channel plugin needs: waflow::Task<waflow::SendResult> "
                  "send(waflow::OutboundMessage message)");
    static const waflow_channel_api api = {
        sizeof(waflow_channel_api), &handleWebhook<P>, &send<P>, readyFunction<P>(), {}};
    return &api;
  } else if constexpr (kind == Kind::kAi) {
    static_assert(HasComplete<P>,
                  "an AI plugin needs: waflow::Task<waflow::AiResult> "
                  "complete(waflow::AiRequest request)");
    static const waflow_ai_api api = {sizeof(waflow_ai_api), &complete<P>, {}};
    return &api;
  } else if constexpr (kind == Kind::kStorage) {
    static_assert(HasExecute<P>,
                  "a storage plugin needs: waflow::Task<waflow::CallResult> "
                  "execute(std::string operation, waflow::Config input)");
    static const waflow_storage_api api = {sizeof(waflow_storage_api), &execute<P>, {}};
    return &api;
  } else {
    static_assert(kind == Kind::kIntegration,
                  "PluginInfo::kind must be kChannel, kAi, kStorage or kIntegration");
    static_assert(HasCall<P>,
                  "an integration plugin needs: waflow::Task<waflow::CallResult> "
                  "call(std::string operation, waflow::Config input)");
    static const waflow_integration_api api = {sizeof(waflow_integration_api), &call<P>, {}};
    return &api;
  }
}

template <class P>
const waflow_plugin_descriptor* descriptorFor() noexcept {
  static_assert(HasInfo<P>,
                "a plugin class needs: static constexpr waflow::PluginInfo kInfo{kind, name, "
                "version, description, config_schema}");
  static_assert(ConstructibleFromHost<P>,
                "a plugin class needs the constructor: Class(waflow::Host& host, const "
                "waflow::Config& config)");
  static const waflow_plugin_descriptor descriptor = {sizeof(waflow_plugin_descriptor),
                                                      WAFLOW_PLUGIN_ABI_MAJOR,
                                                      WAFLOW_PLUGIN_ABI_MINOR,
                                                      static_cast<int32_t>(P::kInfo.kind),
                                                      P::kInfo.name,
                                                      P::kInfo.version,
                                                      P::kInfo.description,
                                                      P::kInfo.config_schema,
                                                      &create<P>,
                                                      &start<P>,
                                                      &stop<P>,
                                                      &destroy<P>,
                                                      kindApi<P>(),
                                                      {}};
  return &descriptor;
}

}  // namespace detail
}  // namespace waflow

// Exports the plugin's entry point. Use exactly once per shared library, at
// namespace scope, after the class definition.
#define WAFLOW_PLUGIN(Class)                                                        \
  extern "C" __attribute__((visibility("default"))) const waflow_plugin_descriptor* \
  waflow_plugin_entry(uint16_t host_abi_major, uint16_t host_abi_minor) noexcept {  \
    (void)host_abi_major;                                                           \
    (void)host_abi_minor;                                                           \
    return ::waflow::detail::descriptorFor<Class>();                                \
  }
