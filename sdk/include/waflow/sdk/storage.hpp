// <waflow/sdk/storage.hpp> — the storage protocol: the operations a storage
// plugin (Kind::kStorage, ABI 1.1) answers through
//   waflow::Task<waflow::CallResult> execute(std::string operation, waflow::Config input)
// and the daemon calls. Input and output are JSON objects; every field below is
// required unless marked optional. Times are Unix milliseconds (integers).
//
// Guarantees every implementation gives (tests/storage/conformance checks
// them against any plugin):
//  - An operation that writes answers only once its write is durable
//    (committed and synced), and a batch is all-or-nothing.
//  - Operations may be called concurrently from many threads; the plugin runs
//    blocking work on its own bounded pool, never on the caller's thread.
//  - An unknown operation fails with Rc::kUnsupported; malformed input with
//    Rc::kInvalid naming the field; a transient failure (busy, connection
//    lost) with Rc::kRetry.
//
// Thread-safety: constants only.
#pragma once

namespace waflow::storage {

// ---- inbox: customer messages received ----------------------------------------
//
// inbox.put
//   in:  {"messages": [InboxMessage...]}
//        InboxMessage = {"channel", "id", "contact", "contact_name", "conversation",
//                        "type", "received_at", "event": <object>}
//        `id` is the channel's message id; (channel, id) is unique. `event` is the
//        message.received payload, stored as given: a JSON object, or the same
//        object serialised in a JSON string (what the daemon sends, so the
//        storage need not build a DOM for it). inbox.pending returns it as an
//        object either way.
//   out: {"new": [bool...]}, one per message, in order: false when (channel, id)
//        was already stored (a redelivery); the stored row is then left as it was.
//   Also upserts each contact (channel, contact): name (when non-empty) and
//   last_inbound_at = max(stored, received_at).
inline constexpr const char* kInboxPut = "inbox.put";

// inbox.pending
//   in:  {"limit": n}
//   out: {"messages": [InboxMessage...]}: stored and not yet marked done, in
//        the order they were stored (used after a restart to finish the work).
inline constexpr const char* kInboxPending = "inbox.pending";

// inbox.done
//   in:  {"messages": [{"channel", "id"}...]}
//   out: {}    Marks messages handled; unknown ones are ignored.
inline constexpr const char* kInboxDone = "inbox.done";

// ---- statuses of what we sent ----------------------------------------------------
//
// status.put
//   in:  {"statuses": [{"channel", "message_id", "status", "timestamp", "error_code",
//                       "error_message", "raw": <object or null>}...]}
//   out: {"new": [bool...]}: false for a repeat of the same (channel, message_id,
//        status). Every new status is kept with its time (the message's history);
//        the outbox row whose provider_message_id matches gets it as its latest.
inline constexpr const char* kStatusPut = "status.put";

// ---- contacts -----------------------------------------------------------------------
//
// contact.get
//   in:  {"channel", "contact"}
//   out: {"contact": null | {"channel", "contact", "name", "last_inbound_at",
//                            "attributes": {}, "tags": [], "opted_in": bool}}
inline constexpr const char* kContactGet = "contact.get";

// ---- outbox: messages to send ----------------------------------------------------------
//
// outbox.add
//   in:  {"messages": [OutboxMessage...]}
//        OutboxMessage = {"id", "channel", "to", "conversation", "type", "text",
//                         "reply_to", "payload": <object or null>, "not_before"}
//        `id` is unique (the daemon's id for the send, stable across retries).
//   out: {"added": [bool...]}: false when the id already exists (left as it was).
inline constexpr const char* kOutboxAdd = "outbox.add";

// outbox.claim
//   in:  {"limit", "now", "lease_ms", "owner"}
//   out: {"messages": [OutboxMessage + {"attempts", "state": "sending"}...]}
//   Claims due messages (state pending, not_before <= now), marking them
//   `sending` with a lease until now + lease_ms held by `owner`. Order per
//   conversation: a message is claimable only when no earlier message of its
//   conversation is still pending or sending, so retries never reorder a
//   conversation. Across conversations, oldest first.
inline constexpr const char* kOutboxClaim = "outbox.claim";

// outbox.sent
//   in:  {"id", "provider_message_id", "now"}
//   out: {}    state sent; the provider's id is kept for status matching.
//   outbox.sent, outbox.retry and outbox.failed fail with Rc::kInvalid naming
//   the id when no message has it.
inline constexpr const char* kOutboxSent = "outbox.sent";

// outbox.retry
//   in:  {"id", "not_before", "error"}
//   out: {}    back to pending, attempts + 1, last_error kept.
inline constexpr const char* kOutboxRetry = "outbox.retry";

// outbox.failed
//   in:  {"id", "error", "now"}
//   out: {}    state failed with its reason; the conversation's next message
//              becomes claimable.
inline constexpr const char* kOutboxFailed = "outbox.failed";

// outbox.recover
//   in:  {"now"}
//   out: {"in_doubt": [OutboxMessage + {"attempts", "state"}...]}
//   After a crash: messages left `sending` whose lease has expired may or may
//   not have reached the provider. They are returned and marked `in_doubt`;
//   the daemon decides what to do (docs/reliability.md).
inline constexpr const char* kOutboxRecover = "outbox.recover";

// outbox.get
//   in:  {"id"}
//   out: {"message": null | OutboxMessage + {"attempts", "state", "provider_message_id",
//                                          "last_error", "statuses": [{"status", "timestamp",
//                                          "error_code"}...]}}
inline constexpr const char* kOutboxGet = "outbox.get";

// ---- key-value ------------------------------------------------------------------------------
//
// kv.get     in: {"key"}           out: {"value": string | null}
// kv.put     in: {"key", "value"}  out: {}
// kv.delete  in: {"key"}           out: {"deleted": bool}
inline constexpr const char* kKvGet = "kv.get";
inline constexpr const char* kKvPut = "kv.put";
inline constexpr const char* kKvDelete = "kv.delete";

// ---- diagnostics ------------------------------------------------------------------------------
//
// stats
//   in:  {}
//   out: {"writes", "commits", "batches_max", "schema_version"}: since start, the
//        write operations committed and the transactions that committed them
//        (writes / commits is the average group-commit batch) and the largest
//        batch; and the schema version of the store. Answered without touching
//        the database.
inline constexpr const char* kStats = "stats";

}  // namespace waflow::storage
