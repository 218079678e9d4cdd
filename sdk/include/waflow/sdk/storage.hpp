// <waflow/sdk/storage.hpp> — the storage protocol: the operations a storage
// plugin (Kind::kStorage, ABI 1.1) answers through
//   waflow::Task<waflow::CallResult> execute(std::string operation, waflow::Config input)
// and the daemon calls. Input and output are JSON objects; every field below is
// required unless marked optional. Times are Unix milliseconds (integers).
//
// Guarantees every implementation gives (the conformance suite in
// tests/plugins/storage-sqlite checks them against any plugin):
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

#include <string_view>

namespace waflow::storage {

// ---- inbox: customer messages received ----------------------------------------
//
// inbox.put
//   in:  {"messages": [InboxMessage...]}
//        InboxMessage = {"channel", "id", "contact", "contact_name", "conversation",
//                        "type", "received_at", "event": <object>,
//                        "phone": optional string, "user_id": optional string}
//        `id` is the channel's message id; (channel, id) is unique. `event` is the
//        message.received payload, stored as given: a JSON object, or the same
//        object serialised in a JSON string (what the daemon sends, so the
//        storage need not build a DOM for it). inbox.pending returns it as an
//        object either way. `phone` and `user_id` are the sender's identifiers as
//        the message carried them (a phone number; a business-scoped user id, which
//        a WhatsApp user with a username may have instead); "" or absent = none.
//        `contact` is the one the sender goes by: the phone, else the user id.
//   out: {"new": [bool...], "contacts": [string...]}, one each per message, in
//        order. new is false when (channel, id) was already stored (a redelivery);
//        the stored row is then left as it was. contacts names the contact each
//        message is stored under (a redelivery's: the one it was stored under).
//   One person, one contact: a message is stored under `contact` and
//   `conversation` as given, unless (channel, contact) is not a contact yet and
//   another contact of the channel is the same person — one keyed by the message's
//   phone or user_id, or carrying it as its `phone` or `user_id` (preferring one
//   keyed by the phone, then one keyed by the user id). The message is then
//   stored under that contact, in conversation "<channel>:<that contact>".
//   Also upserts the contact it is stored under: name (when non-empty, as below),
//   phone and user_id (each when non-empty: this links the two identifiers) and
//   last_inbound_at = max(stored, received_at).
inline constexpr const char* kInboxPut = "inbox.put";

// inbox.pending
//   in:  {"limit": n}
//   out: {"messages": [InboxMessage + {"attempts": n}...]}: stored and not yet
//        marked done (nor quarantined), in the order they were stored (used after
//        a restart to finish the work). `attempts` counts the handlings begun.
inline constexpr const char* kInboxPending = "inbox.pending";

// ---- poison messages: attempts and quarantine ---------------------------------------
//
// A message whose handling ends the process (a crash, a freeze the operator had to
// kill) would be replayed at every start and end it again. The daemon counts every
// handling it begins, in storage, before it begins it: inbox.put counts the first
// (a new message is stored with attempts = 1) and inbox.attempt each replay after a
// restart. Past the limit the message is quarantined: kept, listed, retryable.
//
// inbox.attempt
//   in:  {"messages": [{"channel", "id"}...], "max_attempts": n (>= 1),
//         "reason": string}
//   out: {"messages": [{"state", "attempts"}...]}, one per message, in order.
//        A pending message counts one more attempt; when that makes more than
//        max_attempts it is quarantined instead (state "quarantined", `reason` and
//        the time kept) and leaves inbox.pending. State is then "pending" or
//        "quarantined"; a message already "done" or "quarantined" is left as it is,
//        and one not stored is "unknown" (attempts 0).
inline constexpr const char* kInboxAttempt = "inbox.attempt";

// inbox.quarantined
//   in:  {"limit": n, "after_seq": optional integer}
//   out: {"messages": [InboxMessage + {"seq", "attempts", "quarantined_at",
//        "reason"}...]}: quarantined messages in the order they were stored, those
//        with seq > after_seq when given (pages: pass the last seq seen).
inline constexpr const char* kInboxQuarantined = "inbox.quarantined";

// inbox.release
//   in:  {"messages": [{"channel", "id"}...]}
//   out: {"released": [bool...]}, one per message: a quarantined message becomes
//        pending again with attempts 1 (the handling it is released for counts as
//        its first, as inbox.put's does); any other message is left as it is (false).
inline constexpr const char* kInboxRelease = "inbox.release";

// inbox.done
//   in:  {"messages": [{"channel", "id"}...]}
//   out: {}    Marks messages handled; unknown ones are ignored.
inline constexpr const char* kInboxDone = "inbox.done";

// ---- statuses of what we sent ----------------------------------------------------
//
// status.put
//   in:  {"statuses": [{"channel", "message_id", "status", "timestamp", "error_code",
//                       "error_message", "raw": <object or null>,
//                       "outbox_id": optional string}...]}
//        `message_id` is the provider's id of the message the status is about;
//        `outbox_id` is the outbox id the channel echoed back with the status
//        (the Cloud API's biz_opaque_callback_data); empty or null means none.
//   out: {"new": [bool...], "outbox_ids": [string | null...]}, one each per status,
//        in order. new is false for a repeat of the same (channel, message_id,
//        status); every new status is kept with its time (the message's history).
//        outbox_ids names the outbox message the status was matched to (null when
//        none), repeats included.
//   Matching: the outbox message with this (channel, provider_message_id), or
//   else the one whose id is `outbox_id` on the same channel. Effects on it,
//   for new statuses and repeats alike (applying one twice changes nothing):
//    - last_status / last_status_at become the status when its timestamp is not
//      older than the stored one;
//    - any status but "failed" proves the provider accepted the message: one
//      still pending, sending or in_doubt becomes `sent`, takes `message_id` as
//      its provider_message_id if it had none, and loses its lease. This is how
//      a send left in doubt by a crash is recognised as delivered;
//    - "failed" makes a sent, sending or in_doubt message `failed` with
//      last_error "<error_code> <error_message>" (just "<error_code>" when the
//      message is empty);
//    - a failed message stays failed: later statuses update last_status only.
inline constexpr const char* kStatusPut = "status.put";

// ---- contacts -----------------------------------------------------------------------
//
// Contact = {"channel", "contact", "name", "last_inbound_at",
//            "attributes": {attribute: <JSON value>...}, "tags": [string...], "opted_in": bool,
//            "first_message_id": string, "phone": string, "user_id": string}
// first_message_id is the id of the first message inbox.put stored for the contact ("" for
// a contact that wrote before the storage kept it, or has not written yet). phone and
// user_id are the identifiers the contact's messages carried, the latest of each ("" until
// one did): `contact` is one of them, the other is linked by inbox.put.
//
// contact.get
//   in:  {"channel", "contact"}
//   out: {"contact": null | Contact}
inline constexpr const char* kContactGet = "contact.get";

// contact.update
//   in:  {"channel", "contact",
//         "name": optional string (taken when non-empty),
//         "set": optional {attribute: <JSON value>...} (null removes the attribute),
//         "tags_add": optional [string...], "tags_remove": optional [string...]}
//   out: {"contact": Contact}, the contact as contact.get now returns it.
//   Creates the contact when absent. Tags are a set kept sorted (by bytes):
//   tags_add is applied before tags_remove, so a tag in both ends up removed.
//   Applying the same update twice gives the same contact.
inline constexpr const char* kContactUpdate = "contact.update";

// contact.list
//   in:  {"channel": optional string, "tag": optional string,
//         "after": optional cursor string, "limit": 1..1000}
//   out: {"contacts": [Contact...], "next": cursor string | null}
//   Contacts in (channel, contact) order, only those of `channel` and having
//   `tag` when given. `next` is null on the last page; otherwise pass it as
//   `after` (with the same filters) for the next page. The cursor is opaque;
//   paging visits every contact that exists throughout exactly once.
inline constexpr const char* kContactList = "contact.list";

// ---- conversations: the flow engine's state per (channel, contact) -------------------
//
// conversation.get
//   in:  {"channel", "contact"}
//   out: {"state": <object> | null}    null when none is stored.
inline constexpr const char* kConversationGet = "conversation.get";

// conversation.put
//   in:  {"channel", "contact", "state": <object>, "waits": optional [event name...]}
//   out: {}
//   Replaces the state and the events the conversation waits for (absent
//   means none). An empty state {} with no waits deletes the conversation, so
//   conversation.get returns null again.
inline constexpr const char* kConversationPut = "conversation.put";

// conversation.waiting
//   in:  {"event"}
//   out: {"conversations": [{"channel", "contact", "state"}...]}
//   The conversations whose last conversation.put listed `event` in waits
//   (exact names), in (channel, contact) order.
inline constexpr const char* kConversationWaiting = "conversation.waiting";

// ---- scheduled jobs: durable timers ----------------------------------------------------------
//
// A job is pending (waiting for due_at) or running (claimed under a lease).
// Finished jobs are deleted (job.done), so an id can be used again afterwards.
// Job = {"id", "kind", "due_at", "payload": <object>, "conversation", "attempts"}
//
// job.add
//   in:  {"jobs": [{"id", "kind", "due_at", "payload": <object>,
//                   "conversation": optional string (default ""),
//                   "cancel_on_reply": optional bool (default false)}...],
//         "replace": optional bool (default false)}
//   out: {"added": [bool...]}, one per job, in order.
//   An id already stored is left alone (added false), unless `replace`: then a
//   job that is not running takes the given kind, due_at, payload,
//   conversation and cancel_on_reply, attempts 0 (added true); a running job
//   is left alone (added false).
inline constexpr const char* kJobAdd = "job.add";

// job.claim
//   in:  {"owner", "lease_ms" (>= 1), "now", "limit" (>= 1)}
//   out: {"jobs": [Job...]}
//   Claims pending jobs with due_at <= now and running jobs whose lease has
//   expired (lease_until < now), oldest due_at first (then by id), up to
//   limit. Each becomes running, leased to `owner` until now + lease_ms, with
//   attempts + 1; the output shows attempts after the increment (1 on the
//   first claim).
inline constexpr const char* kJobClaim = "job.claim";

// job.done
//   in:  {"ids": [string...]}
//   out: {"done": n}    Deletes those jobs, whatever their state; unknown ids
//                       are ignored; n counts the jobs deleted.
inline constexpr const char* kJobDone = "job.done";

// job.cancel
//   in:  {"ids": [string...]}
//        or {"conversation", "only_cancel_on_reply": optional bool (default false)}
//   out: {"cancelled": n}
//   Deletes the matching jobs that are pending (a running job is left to
//   finish): those ids, or the jobs of that conversation (with
//   only_cancel_on_reply, only those added with cancel_on_reply).
inline constexpr const char* kJobCancel = "job.cancel";

// job.recover
//   in:  {"owner"}
//   out: {"recovered": n}
//   Running jobs leased to `owner` go back to pending, keeping their attempts:
//   the caller declares it is a new incarnation of that owner, holding no leases.
inline constexpr const char* kJobRecover = "job.recover";

// job.next
//   in:  {}
//   out: {"due_at": n | null}    The earliest due_at among pending jobs (null
//                                when none): how long the scheduler may sleep.
inline constexpr const char* kJobNext = "job.next";

// job.get
//   in:  {"id"}
//   out: {"job": null | Job + {"state": "pending" | "running", "cancel_on_reply"}}
inline constexpr const char* kJobGet = "job.get";

// ---- outbox: messages to send ----------------------------------------------------------
//
// States of an outbox message: pending (waiting to be claimed), sending (claimed,
// under a lease), sent (the provider accepted it), failed (given up), in_doubt (a
// send was under way when its sender vanished: it may or may not have reached the
// provider, or its send's answer never came). pending, sending and in_doubt are *unfinished*: a
// message waits while an earlier message of its conversation is unfinished, so a conversation is
// sent in order, one message at a time.
//
// outbox.add
//   in:  {"messages": [OutboxMessage...],
//         "claim": optional {"owner", "lease_ms", "now"}}
//        OutboxMessage = {"id", "channel", "to", "conversation", "type", "text",
//                         "reply_to", "payload": <object, string holding one, or null>,
//                         "not_before"}
//        `id` is unique (the daemon's id for the send, stable across retries).
//   out: {"added": [bool...], "claimed": [bool...]}, one each per message, in order.
//        added is false when the id already exists (the row is left as it was).
//        "claimed" is present only when "claim" was given.
//   With "claim", a message that is added, due (not_before <= claim.now) and has
//   no unfinished earlier message in its conversation is stored directly as
//   `sending`, leased to claim.owner until claim.now + lease_ms with attempts 0,
//   exactly as if outbox.claim had returned it: the sender can send it at once.
//   Messages of one call are added in order, so of several for the same
//   conversation only the first can be claimed; the rest wait as pending.
//   claimed is false for a message not added or left pending.
inline constexpr const char* kOutboxAdd = "outbox.add";

// outbox.claim
//   in:  {"limit", "now", "lease_ms", "owner"}
//   out: {"messages": [OutboxMessage + {"attempts", "state": "sending"}...]}
//   Claims due messages (state pending, not_before <= now), marking them
//   `sending` with a lease until now + lease_ms held by `owner`. Order per
//   conversation: a message is claimable only when no earlier message of its
//   conversation is unfinished (pending, sending or in_doubt), so retries never
//   reorder a conversation and a send in doubt holds its conversation until it
//   is resolved. Across conversations, oldest first.
inline constexpr const char* kOutboxClaim = "outbox.claim";

// outbox.sent
//   in:  {"id", "provider_message_id", "now"}
//   out: {}
//   or, for many messages in one transaction:
//   in:  {"messages": [{"id", "provider_message_id"}...], "now"}
//   out: {"unknown": [id...]}: the ids no message has (the others are marked).
//   State sent, lease cleared; the provider's id is kept for status matching.
//   Statuses already stored for that provider id (a webhook can beat the answer
//   to the send request) are applied as status.put applies them, so a failed
//   one makes the message failed. A failed message stays failed.
//   The single form, outbox.retry and outbox.failed fail with Rc::kInvalid
//   naming the id when no message has it.
inline constexpr const char* kOutboxSent = "outbox.sent";

// outbox.retry
//   in:  {"id", "not_before", "error"}
//   out: {"changed": bool}
//   A message being sent or in doubt goes back to pending: attempts + 1,
//   last_error = error, lease cleared; it keeps its place in its conversation.
//   Any other state is left alone (changed false): a message a status has
//   settled meanwhile is never sent again.
inline constexpr const char* kOutboxRetry = "outbox.retry";

// outbox.failed
//   in:  {"id", "error", "now"}
//   out: {"changed": bool}
//   A message being sent or in doubt becomes failed: attempts + 1, last_error =
//   error, lease cleared; the conversation's next message becomes claimable.
//   Any other state is left alone (changed false).
inline constexpr const char* kOutboxFailed = "outbox.failed";

// outbox.in_doubt (since SDK 1.2)
//   in:  {"id", "error", "now"}
//   out: {"changed": bool}
//   A message being sent whose send has no known outcome (the request went out, then a
//   timeout or a reset: the provider may have accepted it) becomes in_doubt: attempts + 1,
//   last_error = error, lease cleared. It keeps holding its conversation until a status
//   settles it or the daemon resolves it like a recovered one (outbox.retry or outbox.failed).
//   Any other state is left alone (changed false): a status may have settled it already.
inline constexpr const char* kOutboxInDoubt = "outbox.in_doubt";

// outbox.recover
//   in:  {"now", "owner": optional string}
//   out: {"in_doubt": [OutboxMessage + {"attempts", "state"}...]}
//   Messages left `sending` may or may not have reached the provider. Those
//   whose lease has expired (lease_until <= now) and, when `owner` is given,
//   every one leased to `owner` whatever its lease (the caller declares it is a
//   new incarnation of that owner, holding no leases yet) are returned, oldest
//   first, and marked `in_doubt`. With `owner`, messages already `in_doubt`
//   (an earlier run stopped before resolving them) are returned too, after
//   those. The daemon resolves each one: a status
//   (status.put) settles it, outbox.retry sends it again, outbox.failed gives
//   up (docs/reliability.md).
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

// ---- AI: conversation memory, insights, token usage ---------------------------------------
//
// message.history
//   in:  {"channel", "contact", "limit": optional 1..500 (default 20),
//         "before": optional cursor string}
//   out: {"messages": [{"direction": "in" | "out", "id", "type", "text", "at", "seq"}...],
//         "next": cursor string | null}
//   The last `limit` messages of the conversation "<channel>:<contact>" (the
//   `conversation` inbox.put and outbox.add were given), oldest first. "in":
//   messages inbox.put stored; "out": messages outbox.add queued, except failed
//   ones and those that are not messages (types mark_read and typing).
//   id: the channel's message id (in) or the outbox id (out). at: when
//   inbox.put (in) or outbox.add (out) stored it, on the storage's clock in
//   milliseconds (not the provider's timestamp, which has only seconds). seq: the message's place
//   in the order its direction was stored in. text: for "in", the event's "text" (where the channel
//   puts the text of a text message, a media caption, the title of a button or list reply), "" when
//   it has none; for "out", the message's text, or when that is empty the payload's body.text, body
//   or caption (the first that is a string), else "" (a template, media without a caption). Order:
//   by `at`, an "in" message before an "out" one at the same time; each direction keeps its stored
//   order even if the clock went back. `next` is null when there is no older message; otherwise
//   pass it as `before` for the page of messages just before this one. The cursor is opaque; paging
//   back visits every message once.
inline constexpr const char* kMessageHistory = "message.history";

// insight.put
//   in:  {"channel", "contact", "kind", "data": <object>,
//         "flow": optional string, "step": optional string, "source": optional string
//         (absent: ""), "at": optional time (default now)}
//   out: {"seq": n}    What an AI step learned about a contact (`kind` names what:
//                      "order_intent", "sentiment", ...), kept with the flow and
//                      step that produced it and its source (e.g. the model).
//                      seq increases with every insight stored.
inline constexpr const char* kInsightPut = "insight.put";

// insight.list
//   in:  {"channel", "contact", "kind", "flow": each optional (exact match),
//         "since", "until": optional times (since <= at < until),
//         "after_seq": optional n, "limit": optional 1..1000 (default 100)}
//   out: {"insights": [{"seq", "channel", "contact", "kind", "flow", "step", "source",
//                       "data": <object>, "at"}...],
//         "next": n | null}
//   The insights matching every filter given with seq > after_seq, in the
//   order they were stored (seq), up to limit. `next` is null on the last page;
//   otherwise pass it as `after_seq` (with the same filters) for the next page.
inline constexpr const char* kInsightList = "insight.list";

// usage.add
//   in:  {"records": [{"provider", "channel", "contact", "flow", "step", "model": each
//                      optional string (absent: ""), "prompt_tokens", "completion_tokens",
//                      "cached_tokens", "reasoning_tokens", "latency_ms": each optional
//                      n >= 0 (absent: 0), "cost": optional number >= 0 or null (unknown;
//                      absent: null), "ok": optional bool (default true),
//                      "at": optional time (default now)}...]}
//   out: {"added": n}    One record per AI call: its tokens, cost, outcome and
//                        latency.
inline constexpr const char* kUsageAdd = "usage.add";

// usage.summary
//   in:  {"group_by": "flow" | "contact" | "provider" | "model" | "day" | "none",
//         "since", "until": optional times (since <= at < until),
//         "channel", "contact", "flow": each optional (exact match)}
//   out: {"rows": [{"key", "calls", "failures", "prompt_tokens", "completion_tokens",
//                   "cached_tokens", "reasoning_tokens", "cost": number | null,
//                   "cost_unknown_calls"}...]}
//   Totals of the matching usage records per key, sorted by key (bytes). key:
//   the flow, provider or model ("" for records without one); "<channel>:<contact>"
//   ("" for records without a contact); the UTC date "YYYY-MM-DD" of `at`; ""
//   for "none". failures counts records with ok false; cost is the sum of the
//   known costs, null when none is known; cost_unknown_calls counts records
//   with cost null. No matching record: no rows.
inline constexpr const char* kUsageSummary = "usage.summary";

// ---- diagnostics ------------------------------------------------------------------------------
//
// stats
//   in:  {}
//   out: {"writes", "commits", "batches_max", "schema_version"}: since start, the
//        write operations committed and the transactions that committed them
//        (writes / commits is the average group-commit batch) and the largest
//        batch; and the schema version of the store. Answered without touching
//        the database. A backend may add fields of its own (storage-sqlite:
//        "cache_mib", the writer's page cache).
inline constexpr const char* kStats = "stats";

// ---- knowledge base -------------------------------------------------------------------------
//
// The index of a `knowledge:` entry (docs/knowledge.md): documents (source files, with the
// checksum they were indexed at) and their chunks. The core analyses text into terms itself
// (lower-cased, stemmed, stop words dropped: core/src/knowledge/analyzer.h) and sends them as
// space-separated strings, so a store only needs a full-text index over those words with BM25
// ranking (SQLite FTS5, PostgreSQL tsvector with the 'simple' configuration, ...). `knowledge`
// is the knowledge id; `path` names the source file within it.

// kb.documents
//   in:  {"knowledge"}
//   out: {"documents": [{"path", "checksum", "chunks", "indexed_at"}...]}, sorted by path;
//        chunks is the number of chunks, indexed_at Unix milliseconds of the last kb.put.
inline constexpr const char* kKbDocuments = "kb.documents";

// kb.put
//   in:  {"knowledge", "path", "checksum",
//         "chunks": [{"title", "text", "title_terms", "terms", "embedding"?: [number...]}...]}
//   out: {}
//   Replaces the document's chunks (and its checksum) in one transaction: a search never sees
//   half a document. text must not be empty; title, title_terms and terms may be. embedding,
//   when present, is a non-empty array of numbers, kept as float32. An empty chunks array
//   records the document with no chunks (an empty file).
inline constexpr const char* kKbPut = "kb.put";

// kb.delete
//   in:  {"knowledge", "path"}
//   out: {"deleted": bool}: whether the document existed. Its chunks go with it.
inline constexpr const char* kKbDelete = "kb.delete";

// kb.search
//   in:  {"knowledge": string | [string...], "terms": [string...], "limit"}
//   out: {"passages": [{"id", "knowledge", "path", "title", "text", "score"}...]}
//   The chunks of those knowledge ids that contain at least one of the terms (each term
//   matched as a whole word; empty terms and terms without a letter or digit are ignored),
//   best first by BM25 over (title_terms, terms) with the title weighted 3 to the body's 1;
//   score is the BM25 score, higher is better (SQLite: -bm25()); equal scores by id. No usable
//   term: no passages. limit 1..1000.
inline constexpr const char* kKbSearch = "kb.search";

// kb.vectors
//   in:  {"knowledge"}
//   out: {"vectors": [{"id", "path", "title", "text", "embedding": [number...]}...]}, by id;
//        only the chunks that have an embedding. The core keeps them in memory for cosine
//        similarity (a knowledge base of an FAQ and a few documents is small).
inline constexpr const char* kKbVectors = "kb.vectors";

// kb.retain
//   in:  {"knowledge": [string...]} (may be empty)
//   out: {"removed": [{"knowledge", "documents"}...]}, sorted by knowledge
//   Deletes the documents and chunks of every knowledge id not in the list: the host calls it
//   at start with the ids waflow.yaml configures, so a knowledge base taken out of the config
//   leaves nothing behind. documents is how many documents each removed id had.
inline constexpr const char* kKbRetain = "kb.retain";

// ---- audit log: admin actions ------------------------------------------------------------------
//
// audit.append
//   in:  {"at": time, "actor", "action", "summary", "address": strings (actor, summary and
//         address may be empty), "status": n (the HTTP status answered, 100..599)}
//   out: {"seq": n}
//   One admin-API action (docs/flows.md#admin-api): who (the credential's identity, e.g.
//   "admin token"; "" when the caller did not authenticate), what ("POST /admin/reload" and a
//   short summary of the change), when, from which client address, and the result. seq
//   increases with every entry. Entries are never changed or deleted by the daemon.
inline constexpr const char* kAuditAppend = "audit.append";

// audit.list
//   in:  {"after_seq": optional n, "limit": optional 1..1000 (default 100),
//         "since", "until": optional times (since <= at < until)}
//   out: {"entries": [{"seq", "at", "actor", "action", "summary", "address", "status"}...],
//         "next": n | null}
//   The entries with seq > after_seq in the time range, in the order they were appended, up
//   to limit. `next` is null on the last page; otherwise pass it as `after_seq` for the next.
inline constexpr const char* kAuditList = "audit.list";

// ---- the protocol itself: its version, describe, and the table of operations -----------------
//
// storage.describe
//   in:  {}
//   out: {"protocol": n, "operations": [string...]}: the protocol version the plugin was
//        written against (kProtocolVersion of its SDK) and every operation it answers,
//        storage.describe included. Answered without touching the store.
//   The daemon asks at start and refuses a storage whose protocol is older than its own, or
//   that lacks an operation of the core group or of a group the configuration uses; a
//   missing optional group it does not need is logged. A plugin built before the protocol
//   had a version answers Rc::kUnsupported and is refused with a message saying to rebuild it.
inline constexpr const char* kDescribe = "storage.describe";

// The protocol's version. It only grows, and only by additions old daemons can ignore (a new
// operation, a new optional field): a store answering version n answers every operation of
// the versions before it, the same way.
//   1  the operations below (the first version with a number; the protocol had changed
//      since ABI 1.1 without one).
inline constexpr int kProtocolVersion = 1;

// The groups a store answers. kCore is what every daemon needs: the inbox, statuses,
// contacts, conversations, jobs, the outbox, key-value, stats and describe. The others serve
// one feature each, and a store may leave them out.
enum class Group {
  kCore,
  kMemory,     // message.history: the AI steps' conversation memory
  kInsights,   // insight.*: what classify steps extract
  kUsage,      // usage.*: AI token usage and its cost
  kKnowledge,  // kb.*: the knowledge bases of waflow.yaml's `knowledge:`
  kAudit,      // audit.*: the admin API's audit log
};

// One operation: its name, whether it writes (a write answers only once it is durable, and
// the daemon may batch it), its group, and the shape of its input and output as documented
// above (field names; "?" marks an optional one).
struct OperationInfo {
  const char* name;
  bool writes;
  Group group;
  const char* input;
  const char* output;
};

// Every operation of the protocol, in the order of this header. The daemon's storage check,
// the SQLite plugin's dispatch test, the conformance suite and docs/storage.md's test read it.
// `input` and `output` list the top-level fields ("x[]" an array, "x?" optional, "a | b" two
// forms); the comments above say what each holds.
inline constexpr OperationInfo kOperations[] = {
    {kInboxPut, true, Group::kCore, "messages[]", "new[], contacts[]"},
    {kInboxPending, false, Group::kCore, "limit", "messages[]"},
    {kInboxAttempt, true, Group::kCore, "messages[], max_attempts, reason", "messages[]"},
    {kInboxQuarantined, false, Group::kCore, "limit, after_seq?", "messages[], next"},
    {kInboxRelease, true, Group::kCore, "messages[]", "released[]"},
    {kInboxDone, true, Group::kCore, "messages[]", "{}"},
    {kStatusPut, true, Group::kCore, "statuses[]", "new[], outbox_ids[]"},
    {kContactGet, false, Group::kCore, "channel, contact", "contact"},
    {kContactUpdate, true, Group::kCore, "channel, contact, name?, set?, tags_add?, tags_remove?",
     "contact"},
    {kContactList, false, Group::kCore, "channel?, tag?, after?, limit", "contacts[], next"},
    {kConversationGet, false, Group::kCore, "channel, contact", "state"},
    {kConversationPut, true, Group::kCore, "channel, contact, state, waits?", "{}"},
    {kConversationWaiting, false, Group::kCore, "event", "conversations[]"},
    {kJobAdd, true, Group::kCore, "jobs[], replace?", "added[]"},
    {kJobClaim, true, Group::kCore, "owner, lease_ms, now, limit", "jobs[]"},
    {kJobDone, true, Group::kCore, "ids[]", "done"},
    {kJobCancel, true, Group::kCore, "ids[] | conversation, only_cancel_on_reply?", "cancelled"},
    {kJobRecover, true, Group::kCore, "owner", "recovered"},
    {kJobNext, false, Group::kCore, "{}", "due_at"},
    {kJobGet, false, Group::kCore, "id", "job"},
    {kOutboxAdd, true, Group::kCore, "messages[], claim?", "added[], claimed[]"},
    {kOutboxClaim, true, Group::kCore, "limit, now, lease_ms, owner", "messages[]"},
    {kOutboxSent, true, Group::kCore, "id, provider_message_id, now | messages[], now",
     "{} | unknown[]"},
    {kOutboxRetry, true, Group::kCore, "id, not_before, error", "changed"},
    {kOutboxFailed, true, Group::kCore, "id, error, now", "changed"},
    {kOutboxInDoubt, true, Group::kCore, "id, error, now", "changed"},
    {kOutboxRecover, true, Group::kCore, "now, owner?", "in_doubt[]"},
    {kOutboxGet, false, Group::kCore, "id", "message"},
    {kKvGet, false, Group::kCore, "key", "value"},
    {kKvPut, true, Group::kCore, "key, value", "{}"},
    {kKvDelete, true, Group::kCore, "key", "deleted"},
    {kMessageHistory, false, Group::kMemory, "channel, contact, limit?, before?",
     "messages[], next"},
    {kInsightPut, true, Group::kInsights,
     "channel, contact, kind, data, flow?, step?, source?, at?", "seq"},
    {kInsightList, false, Group::kInsights,
     "channel?, contact?, kind?, flow?, since?, until?, after_seq?, limit?", "insights[], next"},
    {kUsageAdd, true, Group::kUsage, "records[]", "added"},
    {kUsageSummary, false, Group::kUsage, "group_by, since?, until?, channel?, contact?, flow?",
     "rows[]"},
    {kStats, false, Group::kCore, "{}", "writes, commits, batches_max, schema_version"},
    {kKbDocuments, false, Group::kKnowledge, "knowledge", "documents[]"},
    {kKbPut, true, Group::kKnowledge, "knowledge, path, checksum, chunks[]", "{}"},
    {kKbDelete, true, Group::kKnowledge, "knowledge, path", "deleted"},
    {kKbSearch, false, Group::kKnowledge, "knowledge, terms[], limit", "passages[]"},
    {kKbVectors, false, Group::kKnowledge, "knowledge", "vectors[]"},
    {kKbRetain, true, Group::kKnowledge, "knowledge[]", "removed[]"},
    {kAuditAppend, true, Group::kAudit, "at, actor, action, summary, address, status", "seq"},
    {kAuditList, false, Group::kAudit, "after_seq?, limit?, since?, until?", "entries[], next"},
    {kDescribe, false, Group::kCore, "{}", "protocol, operations[]"},
};

// The table's entry for `name`, or nullptr when the protocol has no such operation.
constexpr const OperationInfo* findOperationInfo(std::string_view name) {
  for (const OperationInfo& op : kOperations) {
    if (name == op.name) {
      return &op;
    }
  }
  return nullptr;
}

// The group's name as docs/storage.md and the daemon's messages spell it.
constexpr const char* groupName(Group group) {
  switch (group) {
    case Group::kCore:
      return "core";
    case Group::kMemory:
      return "memory";
    case Group::kInsights:
      return "insights";
    case Group::kUsage:
      return "usage";
    case Group::kKnowledge:
      return "knowledge";
    case Group::kAudit:
      return "audit";
  }
  return "core";
}

}  // namespace waflow::storage
